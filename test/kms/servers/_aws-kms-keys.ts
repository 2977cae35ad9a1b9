/**
 * The key side of the local AWS KMS server, written from the AWS KMS API Reference: symmetric
 * encryption keys (SYMMETRIC_DEFAULT) with versioned AES-256 backing material, key states, aliases,
 * and the operations CreateKey, DescribeKey, Encrypt, Decrypt, GenerateDataKey,
 * GenerateDataKeyWithoutPlaintext, ReEncrypt, EnableKey, DisableKey, ScheduleKeyDeletion,
 * CancelKeyDeletion, RotateKeyOnDemand and CreateAlias. Errors are thrown as KmsError with the
 * code and (where AWS documents one) the message AWS uses.
 *
 * Ciphertext blobs (our own opaque format; AWS's is undocumented):
 *   "VKMS" | 0x01 | key id length (u8) | key id (UTF-8) | material version (u32 BE) | IV (12) | AES-256-GCM ciphertext | tag (16)
 * The GCM AAD is the blob header (everything before the IV) followed by the canonical encryption
 * context: count (u32 BE), then for each entry in key byte order, u32 BE length + UTF-8 key, u32 BE
 * length + UTF-8 value. A different context, key or version fails as InvalidCiphertextException.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';

export class KmsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

interface KmsKey {
  id: string;
  arn: string;
  created: number;
  description: string;
  state: KeyState;
  deletionDate?: number;
  pendingWindowInDays?: number;
  /** Backing material, version n at index n - 1; the last one is current. */
  materials: Buffer[];
}

const MAGIC = Buffer.from('VKMS');
const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = 'SYMMETRIC_DEFAULT';
type Json = Record<string, unknown>;

function b64(value: unknown, field: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new KmsError('SerializationException', `Value for '${field}' is not a base64 blob`);
  return Buffer.from(value, 'base64');
}

function context(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new KmsError('SerializationException', `${field} must be a map of strings to strings`);
  }
  return value as Record<string, string>;
}

function canonicalContext(ctx: Record<string, string>): Buffer {
  const entries = Object.entries(ctx).map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as const);
  entries.sort(([a], [b]) => Buffer.compare(a, b));
  const parts: Buffer[] = [u32(entries.length)];
  for (const [k, v] of entries) parts.push(u32(k.length), k, u32(v.length), v);
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export class KmsKeys {
  readonly #keys = new Map<string, KmsKey>();
  readonly #aliases = new Map<string, string>();

  constructor(
    readonly region: string,
    readonly accountId: string,
  ) {}

  /** The operation `name`, or undefined when this server does not implement it. */
  operation(name: string): ((body: Json) => Json | undefined) | undefined {
    const ops: Record<string, (body: Json) => Json | undefined> = {
      CreateKey: (b) => this.#createKey(b),
      DescribeKey: (b) => ({ KeyMetadata: this.#metadata(this.#resolve(b.KeyId)) }),
      Encrypt: (b) => this.#encrypt(b),
      Decrypt: (b) => this.#decrypt(b),
      GenerateDataKey: (b) => this.#generate(b, true),
      GenerateDataKeyWithoutPlaintext: (b) => this.#generate(b, false),
      ReEncrypt: (b) => this.#reEncrypt(b),
      EnableKey: (b) => this.#setState(b, 'Enabled'),
      DisableKey: (b) => this.#setState(b, 'Disabled'),
      ScheduleKeyDeletion: (b) => this.#scheduleDeletion(b),
      CancelKeyDeletion: (b) => this.#cancelDeletion(b),
      RotateKeyOnDemand: (b) => this.#rotate(b),
      CreateAlias: (b) => this.#createAlias(b),
    };
    return ops[name];
  }

  #createKey(body: Json): Json {
    if (body.KeyUsage !== undefined && body.KeyUsage !== 'ENCRYPT_DECRYPT') throw new KmsError('UnsupportedOperationException', 'This server implements ENCRYPT_DECRYPT keys only.');
    if (body.KeySpec !== undefined && body.KeySpec !== ALGORITHM) throw new KmsError('UnsupportedOperationException', 'This server implements SYMMETRIC_DEFAULT keys only.');
    const id = randomUUID();
    const key: KmsKey = {
      id,
      arn: `arn:aws:kms:${this.region}:${this.accountId}:key/${id}`,
      created: Date.now() / 1000,
      description: typeof body.Description === 'string' ? body.Description : '',
      state: 'Enabled',
      materials: [randomBytes(32)],
    };
    this.#keys.set(id, key);
    return { KeyMetadata: this.#metadata(key) };
  }

  /** Key id, key ARN, alias name or alias ARN -> key (NotFoundException otherwise). */
  #resolve(keyId: unknown): KmsKey {
    if (typeof keyId !== 'string' || keyId === '') throw new KmsError('ValidationException', `1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null`);
    const prefix = `arn:aws:kms:${this.region}:${this.accountId}:`;
    let id = keyId.startsWith(prefix) ? keyId.slice(prefix.length) : keyId;
    if (id.startsWith('alias/')) {
      const target = this.#aliases.get(id);
      if (target === undefined) throw new KmsError('NotFoundException', `Alias ${prefix}${id} is not found.`);
      id = target;
    } else if (id.startsWith('key/')) id = id.slice(4);
    const key = this.#keys.get(id);
    if (key === undefined) throw new KmsError('NotFoundException', `Key '${prefix}key/${id}' does not exist`);
    return key;
  }

  #usable(key: KmsKey): KmsKey {
    if (key.state === 'Disabled') throw new KmsError('DisabledException', `${key.arn} is disabled.`);
    if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    return key;
  }

  #materialId(key: KmsKey, version: number): string {
    return createHash('sha256').update(`${key.id}:${version}`).digest('hex');
  }

  #metadata(key: KmsKey): Json {
    return {
      AWSAccountId: this.accountId,
      KeyId: key.id,
      Arn: key.arn,
      CreationDate: key.created,
      Enabled: key.state === 'Enabled',
      Description: key.description,
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: key.state,
      ...(key.deletionDate !== undefined ? { DeletionDate: key.deletionDate, PendingDeletionWindowInDays: key.pendingWindowInDays } : {}),
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: ALGORITHM,
      KeySpec: ALGORITHM,
      EncryptionAlgorithms: [ALGORITHM],
      MultiRegion: false,
      CurrentKeyMaterialId: this.#materialId(key, key.materials.length),
    };
  }

  #seal(key: KmsKey, plaintext: Buffer, ctx: Record<string, string>): { blob: Buffer; version: number } {
    const version = key.materials.length;
    const id = Buffer.from(key.id);
    const header = Buffer.concat([MAGIC, Buffer.from([FORMAT, id.length]), id, u32(version)]);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.materials[version - 1]!, iv);
    cipher.setAAD(Buffer.concat([header, canonicalContext(ctx)]));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { blob: Buffer.concat([header, iv, body, cipher.getAuthTag()]), version };
  }

  /** The blob's key id, or InvalidCiphertextException for anything that is not one of our blobs. */
  #blobKeyId(blob: Buffer): string {
    if (blob.length < 6 || !blob.subarray(0, 4).equals(MAGIC) || blob[4] !== FORMAT) throw new KmsError('InvalidCiphertextException', '');
    return blob.subarray(6, 6 + blob[5]!).toString('utf8');
  }

  /** Checks the key named in the blob against `keyId` (IncorrectKeyException) and its state, then decrypts. */
  #open(blob: Buffer, ctx: Record<string, string>, keyId: unknown): { key: KmsKey; plaintext: Buffer; version: number } {
    const blobKey = this.#blobKeyId(blob);
    const requested = keyId === undefined ? undefined : this.#resolve(keyId);
    if (requested !== undefined && requested.id !== blobKey) {
      throw new KmsError('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
    }
    const key = requested ?? this.#keys.get(blobKey);
    if (key === undefined) throw new KmsError('InvalidCiphertextException', '');
    this.#usable(key);
    const at = 6 + blob[5]!;
    if (blob.length < at + 4 + IV_BYTES + TAG_BYTES) throw new KmsError('InvalidCiphertextException', '');
    const version = blob.readUInt32BE(at);
    const material = key.materials[version - 1];
    if (material === undefined) throw new KmsError('InvalidCiphertextException', '');
    const iv = blob.subarray(at + 4, at + 4 + IV_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', material, iv);
    decipher.setAAD(Buffer.concat([blob.subarray(0, at + 4), canonicalContext(ctx)]));
    decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
    try {
      const plaintext = Buffer.concat([decipher.update(blob.subarray(at + 4 + IV_BYTES, blob.length - TAG_BYTES)), decipher.final()]);
      return { key, plaintext, version };
    } catch {
      throw new KmsError('InvalidCiphertextException', '');
    }
  }

  #algorithm(value: unknown, field: string): void {
    if (value !== undefined && value !== ALGORITHM) throw new KmsError('ValidationException', `1 validation error detected: Value at '${field}' failed to satisfy constraint: this key supports ${ALGORITHM} only`);
  }

  #encrypt(body: Json): Json {
    this.#algorithm(body.EncryptionAlgorithm, 'encryptionAlgorithm');
    const key = this.#usable(this.#resolve(body.KeyId));
    const plaintext = b64(body.Plaintext, 'Plaintext');
    if (plaintext.length < 1 || plaintext.length > 4096) throw new KmsError('ValidationException', `1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096`);
    const { blob } = this.#seal(key, plaintext, context(body.EncryptionContext, 'EncryptionContext'));
    return { CiphertextBlob: blob.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: ALGORITHM };
  }

  #decrypt(body: Json): Json {
    this.#algorithm(body.EncryptionAlgorithm, 'encryptionAlgorithm');
    const { key, plaintext, version } = this.#open(b64(body.CiphertextBlob, 'CiphertextBlob'), context(body.EncryptionContext, 'EncryptionContext'), body.KeyId);
    return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: ALGORITHM, KeyMaterialId: this.#materialId(key, version) };
  }

  #generate(body: Json, withPlaintext: boolean): Json {
    const key = this.#usable(this.#resolve(body.KeyId));
    const spec = body.KeySpec;
    const count = body.NumberOfBytes;
    if ((spec === undefined) === (count === undefined)) throw new KmsError('ValidationException', 'Please specify either number of bytes or key spec.');
    const bytes = spec === 'AES_256' ? 32 : spec === 'AES_128' ? 16 : count;
    if (!Number.isInteger(bytes) || (bytes as number) < 1 || (bytes as number) > 1024) throw new KmsError('ValidationException', `1 validation error detected: KeySpec or NumberOfBytes is out of range`);
    const dataKey = randomBytes(bytes as number);
    const { blob, version } = this.#seal(key, dataKey, context(body.EncryptionContext, 'EncryptionContext'));
    return {
      CiphertextBlob: blob.toString('base64'),
      ...(withPlaintext ? { Plaintext: dataKey.toString('base64') } : {}),
      KeyId: key.arn,
      KeyMaterialId: this.#materialId(key, version),
    };
  }

  #reEncrypt(body: Json): Json {
    this.#algorithm(body.SourceEncryptionAlgorithm, 'sourceEncryptionAlgorithm');
    this.#algorithm(body.DestinationEncryptionAlgorithm, 'destinationEncryptionAlgorithm');
    const destination = this.#usable(this.#resolve(body.DestinationKeyId));
    const source = this.#open(b64(body.CiphertextBlob, 'CiphertextBlob'), context(body.SourceEncryptionContext, 'SourceEncryptionContext'), body.SourceKeyId);
    const { blob, version } = this.#seal(destination, source.plaintext, context(body.DestinationEncryptionContext, 'DestinationEncryptionContext'));
    source.plaintext.fill(0);
    return {
      CiphertextBlob: blob.toString('base64'),
      SourceKeyId: source.key.arn,
      KeyId: destination.arn,
      SourceEncryptionAlgorithm: ALGORITHM,
      DestinationEncryptionAlgorithm: ALGORITHM,
      SourceKeyMaterialId: this.#materialId(source.key, source.version),
      DestinationKeyMaterialId: this.#materialId(destination, version),
    };
  }

  #setState(body: Json, state: 'Enabled' | 'Disabled'): undefined {
    const key = this.#resolve(body.KeyId);
    if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    key.state = state;
    return undefined;
  }

  #scheduleDeletion(body: Json): Json {
    const key = this.#resolve(body.KeyId);
    const days = body.PendingWindowInDays ?? 30;
    if (!Number.isInteger(days) || (days as number) < 7 || (days as number) > 30) {
      throw new KmsError('ValidationException', `1 validation error detected: Value '${String(days)}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30`);
    }
    if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    key.state = 'PendingDeletion';
    key.pendingWindowInDays = days as number;
    key.deletionDate = Math.floor(Date.now() / 1000) + (days as number) * 86_400;
    return { KeyId: key.arn, DeletionDate: key.deletionDate, KeyState: key.state, PendingWindowInDays: days };
  }

  #cancelDeletion(body: Json): Json {
    const key = this.#resolve(body.KeyId);
    if (key.state !== 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is not pending deletion.`);
    key.state = 'Disabled';
    delete key.deletionDate;
    delete key.pendingWindowInDays;
    return { KeyId: key.arn };
  }

  #rotate(body: Json): Json {
    const key = this.#usable(this.#resolve(body.KeyId));
    key.materials.push(randomBytes(32));
    return { KeyId: key.arn };
  }

  #createAlias(body: Json): undefined {
    const name = body.AliasName;
    if (typeof name !== 'string' || !/^alias\/[a-zA-Z0-9/_-]+$/.test(name) || name.startsWith('alias/aws/')) {
      throw new KmsError('ValidationException', `1 validation error detected: Value at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$`);
    }
    if (this.#aliases.has(name)) throw new KmsError('AlreadyExistsException', `An alias with the name arn:aws:kms:${this.region}:${this.accountId}:${name} already exists`);
    if (typeof body.TargetKeyId === 'string' && body.TargetKeyId.includes('alias/')) throw new KmsError('ValidationException', 'Aliases must refer to keys. Not aliases');
    this.#aliases.set(name, this.#resolve(body.TargetKeyId).id);
    return undefined;
  }
}
