/**
 * KMIP TTLV and message encoding (src/kms/kmip/ttlv.ts, messages.ts): known answers from the KMIP 1.4
 * specification's examples and the KMIP 1.1 test cases (test/vectors/kmip/README.md), round trips
 * at the edges of each type, and strict refusal of malformed input.
 */
import { describe, expect, it } from 'vitest';
import spec from '../vectors/kmip/ttlv-spec-examples.json';
import testCases from '../vectors/kmip/messages-testcases-v1.1.json';
import { FormatError, InvalidInputError } from '../../src/errors.js';
import { decodeResponseMessage, encodeRequestMessage, messageLength, readResponseMessage } from '../../src/kms/kmip/messages.js';
import { CryptographicAlgorithm, KeyFormatType, NameType, ObjectType, Operation, ResultStatus, Tag, UsageMask } from '../../src/kms/kmip/tags.js';
import {
  bigInteger,
  boolean,
  byteString,
  dateTime,
  decodeTtlv,
  encodeTtlv,
  enumeration,
  integer,
  interval,
  ItemType,
  longInteger,
  MAX_DEPTH,
  required,
  structure,
  textString,
  type TtlvItem,
} from '../../src/kms/kmip/ttlv.js';

const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/[\s|]/g, ''), 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface SpecValue {
  tag?: string;
  type: string;
  value: string;
}

/** The item a spec example describes, built with the public constructors. */
function specItem(tag: number, c: SpecValue): TtlvItem {
  switch (c.type) {
    case 'Integer': return integer(tag, Number(c.value));
    case 'LongInteger': return longInteger(tag, BigInt(c.value));
    case 'BigInteger': return bigInteger(tag, BigInt(c.value));
    case 'Enumeration': return enumeration(tag, Number(c.value));
    case 'Boolean': return boolean(tag, c.value === 'true');
    case 'TextString': return textString(tag, c.value);
    case 'ByteString': return byteString(tag, unhex(c.value));
    case 'DateTime': return dateTime(tag, BigInt(Date.parse(c.value) / 1000));
    case 'Interval': return interval(tag, Number(c.value));
    case 'Structure': return structure(tag, (JSON.parse(c.value) as SpecValue[]).map((child) => specItem(Number.parseInt(child.tag!, 16), child)));
    default: throw new Error(`unknown type ${c.type}`);
  }
}

const attr = (name: string, value: TtlvItem): TtlvItem => structure(Tag.Attribute, [textString(Tag.AttributeName, name), value]);
const KMIP_1_1 = { major: 1, minor: 1 };
const vector = (name: string): Uint8Array => unhex(testCases.cases.find((c) => c.name.startsWith(name))!.hex);

describe('KMIP TTLV: KMIP 1.4 section 9.1.2 examples', () => {
  const tag = Number.parseInt(spec.tag, 16);
  for (const c of spec.cases) {
    it(`KMIP 1.4/9.1.2: ${c.name}`, () => {
      const item = specItem(tag, c);
      expect(hex(encodeTtlv(item))).toBe(hex(unhex(c.hex)));
      expect(decodeTtlv(unhex(c.hex))).toEqual(item);
    });
  }

  it('the Date-Time example is 2008-03-14 11:56:40 UTC in POSIX seconds, independently of Date.parse', () => {
    const item = decodeTtlv(unhex(spec.cases.find((c) => c.type === 'DateTime')!.hex));
    expect(item.value).toBe(BigInt(Date.UTC(2008, 2, 14, 11, 56, 40) / 1000));
    expect(decodeTtlv(unhex(spec.cases.find((c) => c.type === 'Interval')!.hex)).value).toBe(10 * 24 * 3600);
  });
});

describe('KMIP messages: KMIP 1.1 test cases', () => {
  for (const c of testCases.cases) {
    it(`KMIP-TC-1.1: ${c.name} decodes and re-encodes to the same bytes`, () => {
      const bytes = unhex(c.hex);
      expect(messageLength(bytes.subarray(0, 8), c.kind === 'request' ? Tag.RequestMessage : Tag.ResponseMessage)).toBe(bytes.length);
      expect(hex(encodeTtlv(decodeTtlv(bytes)))).toBe(c.hex);
    });
  }

  it('builds the Create request of the test case', () => {
    const bytes = encodeRequestMessage({
      version: KMIP_1_1,
      items: [
        {
          operation: Operation.Create,
          payload: [
            enumeration(Tag.ObjectType, ObjectType.SymmetricKey),
            structure(Tag.TemplateAttribute, [
              attr('Cryptographic Algorithm', enumeration(Tag.AttributeValue, CryptographicAlgorithm.AES)),
              attr('Cryptographic Length', integer(Tag.AttributeValue, 128)),
              attr('Cryptographic Usage Mask', integer(Tag.AttributeValue, UsageMask.Encrypt | UsageMask.Decrypt)),
            ]),
          ],
        },
      ],
    });
    expect(hex(bytes)).toBe(hex(vector('Create request')));
  });

  it('builds the Get, Destroy and Locate requests of the test cases', () => {
    const one = (operation: number, payload: TtlvItem[]): string => hex(encodeRequestMessage({ version: KMIP_1_1, items: [{ operation, payload }] }));
    expect(one(Operation.Get, [textString(Tag.UniqueIdentifier, '49a1ca88-6bea-4fb2-b450-7e58802c3038')])).toBe(hex(vector('Get request')));
    expect(one(Operation.Destroy, [textString(Tag.UniqueIdentifier, 'fb4b5b9c-6188-4c63-8142-fe9c328129fc')])).toBe(hex(vector('Destroy request')));
    const locate = [
      attr('Object Type', enumeration(Tag.AttributeValue, ObjectType.SymmetricKey)),
      attr('Name', structure(Tag.AttributeValue, [textString(Tag.NameValue, 'Key1'), enumeration(Tag.NameType, NameType.UninterpretedTextString)])),
    ];
    expect(one(Operation.Locate, locate)).toBe(hex(vector('Locate request')));
  });

  it('reads the Create and Locate responses: version, time stamp, status, Unique Identifier', () => {
    const create = decodeResponseMessage(vector('Create response'));
    expect(create.version).toEqual(KMIP_1_1);
    expect(create.timeStamp).toBe(0x4f9a54e5n);
    expect(create.items).toHaveLength(1);
    const item = create.items[0]!;
    expect(item).toMatchObject({ operation: Operation.Create, status: ResultStatus.Success, reason: undefined, message: undefined });
    expect(required(item.payload!, Tag.UniqueIdentifier, ItemType.TextString, 'uid').value).toBe('fb4b5b9c-6188-4c63-8142-fe9c328129fc');
    const locate = decodeResponseMessage(vector('Locate response')).items[0]!;
    expect(locate.operation).toBe(Operation.Locate);
    expect(required(locate.payload!, Tag.UniqueIdentifier, ItemType.TextString, 'uid').value).toBe('49a1ca88-6bea-4fb2-b450-7e58802c3038');
  });

  it('reads the key block of the Get response (Raw 3DES key, 168 bits)', () => {
    const payload = decodeResponseMessage(vector('Get response')).items[0]!.payload!;
    const block = required(required(payload, Tag.SymmetricKey, ItemType.Structure, 'key'), Tag.KeyBlock, ItemType.Structure, 'block');
    expect(required(block, Tag.KeyFormatType, ItemType.Enumeration, 'format').value).toBe(KeyFormatType.Raw);
    expect(required(block, Tag.CryptographicAlgorithm, ItemType.Enumeration, 'alg').value).toBe(CryptographicAlgorithm.TripleDES);
    expect(required(block, Tag.CryptographicLength, ItemType.Integer, 'len').value).toBe(168);
    const material = required(required(block, Tag.KeyValue, ItemType.Structure, 'value'), Tag.KeyMaterial, ItemType.ByteString, 'material').value;
    expect(hex(material)).toBe('7367578051012a6d134a855e25c8cd5e4ca131455729d3c8');
  });
});

describe('KMIP TTLV round trips at the edges of each type', () => {
  const tag = 0x420020;
  const cases: [string, TtlvItem][] = [
    ['Integer -2^31', integer(tag, -0x8000_0000)],
    ['Integer 2^31-1', integer(tag, 0x7fff_ffff)],
    ['Integer -1', integer(tag, -1)],
    ['Long Integer -2^63', longInteger(tag, -(1n << 63n))],
    ['Long Integer 2^63-1', longInteger(tag, (1n << 63n) - 1n)],
    ['Enumeration 2^32-1', enumeration(tag, 0xffff_ffff)],
    ['Interval 0', interval(tag, 0)],
    ['Boolean false', boolean(tag, false)],
    ['empty Text String', textString(tag, '')],
    ['UTF-8 Text String', textString(tag, 'clé 🔑')],
    ['8-byte Text String (no padding)', textString(tag, 'abcdefgh')],
    ['empty Byte String', byteString(tag, new Uint8Array(0))],
    ['17-byte Byte String', byteString(tag, Uint8Array.from({ length: 17 }, (_, i) => i + 1))],
    ['Date-Time before 1970', dateTime(tag, -86400n)],
    ['empty Structure', structure(tag, [])],
    ['extension tag 0x540001', textString(0x540001, 'x')],
  ];
  for (const big of [0n, -1n, 127n, 128n, -128n, -129n, (1n << 63n) - 1n, 1n << 63n, -(1n << 63n), -(1n << 63n) - 1n, (1n << 200n) + 12345n, -(1n << 200n)]) {
    cases.push([`Big Integer ${big}`, bigInteger(tag, big)]);
  }
  for (const [name, item] of cases) {
    it(name, () => {
      const bytes = encodeTtlv(item);
      expect(bytes.length % 8).toBe(0);
      expect(decodeTtlv(bytes)).toEqual(item);
    });
  }

  it('Big Integers take the minimal multiple of 8 bytes, sign-extended', () => {
    expect(hex(encodeTtlv(bigInteger(tag, -1n)).subarray(8))).toBe('ffffffffffffffff');
    expect(encodeTtlv(bigInteger(tag, (1n << 63n) - 1n)).length).toBe(16);
    expect(encodeTtlv(bigInteger(tag, 1n << 63n)).length).toBe(24);
    expect(hex(encodeTtlv(bigInteger(tag, 1n << 63n)).subarray(8))).toBe('00000000000000008000000000000000');
  });

  it('nests structures up to MAX_DEPTH', () => {
    let item: TtlvItem = integer(tag, 1);
    for (let i = 0; i < MAX_DEPTH; i++) item = structure(tag, [item]);
    expect(decodeTtlv(encodeTtlv(item))).toEqual(item);
  });
});

describe('KMIP TTLV refuses malformed input', () => {
  const good = (item: TtlvItem): Uint8Array => encodeTtlv(item);
  const mutate = (bytes: Uint8Array, at: number, value: number): Uint8Array => {
    const b = bytes.slice();
    b[at] = value;
    return b;
  };
  const int8 = good(integer(0x420020, 8));
  const text = good(textString(0x420020, 'Hello World'));
  const struct = good(structure(0x420020, [integer(0x420004, 1), integer(0x420005, 2)]));
  let deep: TtlvItem = integer(0x420020, 1);
  for (let i = 0; i <= MAX_DEPTH; i++) deep = { tag: 0x420020, type: ItemType.Structure, value: [deep] };
  const deepBytes = (() => {
    // The encoder refuses to build it, so assemble the bytes by hand: 33 nested headers around one Integer.
    const inner = good(integer(0x420020, 1));
    let out = inner;
    for (let i = 0; i <= MAX_DEPTH; i++) {
      const next = new Uint8Array(8 + out.length);
      next.set([0x42, 0x00, 0x20, 0x01], 0);
      new DataView(next.buffer).setUint32(4, out.length, false);
      next.set(out, 8);
      out = next;
    }
    return out;
  })();
  const withLength = (bytes: Uint8Array, length: number): Uint8Array => {
    const b = bytes.slice();
    new DataView(b.buffer).setUint32(4, length, false);
    return b;
  };

  const cases: [string, Uint8Array][] = [
    ['empty input', new Uint8Array(0)],
    ['truncated header', int8.subarray(0, 7)],
    ['truncated value', int8.subarray(0, 12)],
    ['missing padding', text.subarray(0, 8 + 11)],
    ['trailing bytes', Uint8Array.from([...int8, 0, 0, 0, 0, 0, 0, 0, 0])],
    ['tag outside 0x42/0x54', mutate(int8, 0, 0x43)],
    ['unknown type 0x0B', mutate(int8, 3, 0x0b)],
    ['type 0x00', mutate(int8, 3, 0x00)],
    ['Integer with length 8', withLength(good(longInteger(0x420020, 1n)), 8).map((v, i) => (i === 3 ? 0x02 : v))],
    ['Enumeration with length 3', withLength(good(enumeration(0x420020, 1)), 3)],
    ['Boolean with length 4', withLength(good(integer(0x420020, 1)), 4).map((v, i) => (i === 3 ? 0x06 : v))],
    ['Boolean value 2', mutate(good(boolean(0x420020, true)), 15, 2)],
    ['non-zero Integer padding', mutate(int8, 15, 1)],
    ['non-zero Text String padding', mutate(text, 8 + 11, 0x20)],
    ['invalid UTF-8', mutate(text, 8, 0xff)],
    ['Structure length not a multiple of 8', withLength(struct, 20)],
    ['Structure longer than its input', withLength(struct, 40)],
    ['child overrunning its Structure', withLength(struct, 24)],
    ['Big Integer of 12 bytes', withLength(Uint8Array.from([...good(bigInteger(0x420020, 1n)), 0, 0, 0, 0, 0, 0, 0, 0]), 12)],
    ['Big Integer of 0 bytes', withLength(good(bigInteger(0x420020, 1n)).subarray(0, 8), 0)],
    ['non-minimal Big Integer', withLength(Uint8Array.from([...good(bigInteger(0x420020, 1n)).subarray(0, 8), ...new Uint8Array(15), 1]), 16)],
    ['value length beyond the buffer (2^32-1)', withLength(text, 0xffff_ffff)],
    [`nesting deeper than ${MAX_DEPTH}`, deepBytes],
  ];
  for (const [name, bytes] of cases) {
    it(name, () => {
      expect(() => decodeTtlv(bytes)).toThrow(FormatError);
    });
  }

  it('refuses to encode values KMIP cannot carry', () => {
    expect(() => integer(0x430000, 1)).toThrow(InvalidInputError);
    expect(() => integer(0x420020, 2 ** 31)).toThrow(InvalidInputError);
    expect(() => integer(0x420020, 1.5)).toThrow(InvalidInputError);
    expect(() => enumeration(0x420020, -1)).toThrow(InvalidInputError);
    expect(() => interval(0x420020, 2 ** 32)).toThrow(InvalidInputError);
    expect(() => longInteger(0x420020, 1n << 63n)).toThrow(InvalidInputError);
    expect(() => byteString(0x420020, 'x' as never)).toThrow(InvalidInputError);
    expect(() => encodeTtlv(deep)).toThrow(InvalidInputError);
    expect(() => encodeTtlv({ tag: 0x420020, type: 0x0b, value: 1 } as never)).toThrow(InvalidInputError);
  });
});

describe('KMIP response messages refuse a broken shape', () => {
  const header = (count: number): TtlvItem =>
    structure(Tag.ResponseHeader, [
      structure(Tag.ProtocolVersion, [integer(Tag.ProtocolVersionMajor, 1), integer(Tag.ProtocolVersionMinor, 4)]),
      dateTime(Tag.TimeStamp, 1n),
      integer(Tag.BatchCount, count),
    ]);
  const ok = structure(Tag.BatchItem, [enumeration(Tag.Operation, Operation.Get), enumeration(Tag.ResultStatus, ResultStatus.Success)]);
  const message = (...items: TtlvItem[]): Uint8Array => encodeTtlv(structure(Tag.ResponseMessage, items));

  it('accepts a minimal response', () => {
    expect(decodeResponseMessage(message(header(1), ok)).items[0]!.status).toBe(ResultStatus.Success);
  });

  const cases: [string, Uint8Array][] = [
    ['a Request Message', encodeRequestMessage({ items: [{ operation: Operation.Get, payload: [] }] })],
    ['Batch Count that disagrees with the items', message(header(2), ok)],
    ['no Response Header', message(ok)],
    ['no Protocol Version', message(structure(Tag.ResponseHeader, [integer(Tag.BatchCount, 1)]), ok)],
    ['a Result Status of the wrong type', message(header(1), structure(Tag.BatchItem, [integer(Tag.ResultStatus, 0)]))],
    ['a failure without a Result Reason', message(header(1), structure(Tag.BatchItem, [enumeration(Tag.ResultStatus, ResultStatus.OperationFailed)]))],
    ['a Batch Item that is not a Structure', message(header(1), integer(Tag.BatchItem, 1))],
  ];
  for (const [name, bytes] of cases) {
    it(name, () => {
      expect(() => decodeResponseMessage(bytes)).toThrow(FormatError);
    });
  }

  it('messageLength wants a Response Message Structure header', () => {
    expect(() => messageLength(encodeRequestMessage({ items: [{ operation: Operation.Get, payload: [] }] }).subarray(0, 8))).toThrow(FormatError);
    expect(() => messageLength(new Uint8Array(4))).toThrow(FormatError);
    expect(() => readResponseMessage(integer(Tag.ResponseMessage, 1))).toThrow(FormatError);
  });

  it('refuses an empty batch when encoding', () => {
    expect(() => encodeRequestMessage({ items: [] })).toThrow(InvalidInputError);
  });
});
