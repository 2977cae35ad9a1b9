/**
 * The KMIP tag and enumeration values this client uses, from KMIP 1.4 section 9.1.3 ("Defined Values":
 * 9.1.3.1 Tags, 9.1.3.2 Enumerations, 9.1.3.3 Bit Masks); values are the same in KMIP 1.2 unless noted.
 * Only what the provider and its tests send or read is listed; everything else decodes as a bare number.
 */

/** Item tags (KMIP 1.4 section 9.1.3.1). */
export const Tag = {
  Attribute: 0x420008,
  AttributeIndex: 0x420009,
  AttributeName: 0x42000a,
  AttributeValue: 0x42000b,
  BatchCount: 0x42000d,
  BatchItem: 0x42000f,
  BlockCipherMode: 0x420011,
  CompromiseOccurrenceDate: 0x420021,
  CryptographicAlgorithm: 0x420028,
  CryptographicLength: 0x42002a,
  CryptographicParameters: 0x42002b,
  CryptographicUsageMask: 0x42002c,
  EncryptionKeyInformation: 0x420036,
  InitialDate: 0x420039,
  IvCounterNonce: 0x42003d,
  KeyBlock: 0x420040,
  KeyFormatType: 0x420042,
  KeyMaterial: 0x420043,
  KeyValue: 0x420045,
  KeyWrappingData: 0x420046,
  KeyWrappingSpecification: 0x420047,
  MaximumItems: 0x42004f,
  MaximumResponseSize: 0x420050,
  Name: 0x420053,
  NameType: 0x420054,
  NameValue: 0x420055,
  ObjectType: 0x420057,
  Operation: 0x42005c,
  PaddingMethod: 0x42005f,
  ProtocolVersion: 0x420069,
  ProtocolVersionMajor: 0x42006a,
  ProtocolVersionMinor: 0x42006b,
  RequestHeader: 0x420077,
  RequestMessage: 0x420078,
  RequestPayload: 0x420079,
  ResponseHeader: 0x42007a,
  ResponseMessage: 0x42007b,
  ResponsePayload: 0x42007c,
  ResultMessage: 0x42007d,
  ResultReason: 0x42007e,
  ResultStatus: 0x42007f,
  RevocationMessage: 0x420080,
  RevocationReason: 0x420081,
  RevocationReasonCode: 0x420082,
  State: 0x42008d,
  SymmetricKey: 0x42008f,
  TemplateAttribute: 0x420091,
  TimeStamp: 0x420092,
  UniqueBatchItemId: 0x420093,
  UniqueIdentifier: 0x420094,
  WrappingMethod: 0x42009e,
  EncodingOption: 0x4200a3,
  Data: 0x4200c2,
  IvLength: 0x4200cd,
  TagLength: 0x4200ce,
  LocatedItems: 0x4200d5,
  /** KMIP 1.4. */
  AuthenticatedEncryptionAdditionalData: 0x4200fe,
  /** KMIP 1.4. */
  AuthenticatedEncryptionTag: 0x4200ff,
} as const;

/** Operation: what a batch item asks for. */
export const Operation = {
  Create: 0x01,
  Locate: 0x08,
  Get: 0x0a,
  GetAttributes: 0x0b,
  Activate: 0x12,
  Revoke: 0x13,
  Destroy: 0x14,
  Query: 0x18,
  DiscoverVersions: 0x1e,
  Encrypt: 0x1f,
  Decrypt: 0x20,
} as const;

/** Result Status of a response batch item. */
export const ResultStatus = { Success: 0, OperationFailed: 1, OperationPending: 2, OperationUndone: 3 } as const;

/** Result Reason. KMIP 1.x has no "Wrong Key Lifecycle State" (that is KMIP 2.0); servers say Permission Denied or Illegal Operation. */
export const ResultReason = {
  ItemNotFound: 0x01,
  ResponseTooLarge: 0x02,
  AuthenticationNotSuccessful: 0x03,
  InvalidMessage: 0x04,
  OperationNotSupported: 0x05,
  MissingData: 0x06,
  InvalidField: 0x07,
  FeatureNotSupported: 0x08,
  OperationCanceledByRequester: 0x09,
  CryptographicFailure: 0x0a,
  IllegalOperation: 0x0b,
  PermissionDenied: 0x0c,
  ObjectArchived: 0x0d,
  IndexOutOfBounds: 0x0e,
  ApplicationNamespaceNotSupported: 0x0f,
  KeyFormatTypeNotSupported: 0x10,
  KeyCompressionTypeNotSupported: 0x11,
  EncodingOptionError: 0x12,
  KeyValueNotPresent: 0x13,
  AttestationRequired: 0x14,
  AttestationFailed: 0x15,
  Sensitive: 0x16,
  NotExtractable: 0x17,
  ObjectAlreadyExists: 0x18,
  GeneralFailure: 0x100,
} as const;

/** Object Type of a managed object. */
export const ObjectType = { Certificate: 0x01, SymmetricKey: 0x02, PublicKey: 0x03, PrivateKey: 0x04, SecretData: 0x07 } as const;

/** Cryptographic Algorithm (attribute, and in Cryptographic Parameters). */
export const CryptographicAlgorithm = { DES: 0x01, TripleDES: 0x02, AES: 0x03 } as const;

/** Block Cipher Mode (Cryptographic Parameters); NIST Key Wrap is RFC 3394. */
export const BlockCipherMode = { CBC: 0x01, ECB: 0x02, CTR: 0x06, GCM: 0x09, AESKeyWrapPadding: 0x0c, NISTKeyWrap: 0x0d } as const;

/** Padding Method (Cryptographic Parameters); CBC needs PKCS5. */
export const PaddingMethod = { None: 0x01, PKCS5: 0x03 } as const;

/** Key Format Type of a Key Block. */
export const KeyFormatType = { Raw: 0x01, Opaque: 0x02, TransparentSymmetricKey: 0x07 } as const;

/** Name Type inside a Name attribute. */
export const NameType = { UninterpretedTextString: 0x01, URI: 0x02 } as const;

/** State: the key lifecycle (KMIP 1.4 section 3.22). */
export const State = { PreActive: 0x01, Active: 0x02, Deactivated: 0x03, Compromised: 0x04, Destroyed: 0x05, DestroyedCompromised: 0x06 } as const;

/** Revocation Reason Code: the compromise reasons make a key Compromised, the others Deactivated. */
export const RevocationReasonCode = {
  Unspecified: 0x01,
  KeyCompromise: 0x02,
  CACompromise: 0x03,
  AffiliationChanged: 0x04,
  Superseded: 0x05,
  CessationOfOperation: 0x06,
  PrivilegeWithdrawn: 0x07,
} as const;

/** Wrapping Method of a Key Wrapping Specification. */
export const WrappingMethod = { Encrypt: 0x01, MacSign: 0x02 } as const;

/** Encoding Option of a Key Wrapping Specification. */
export const EncodingOption = { NoEncoding: 0x01, TtlvEncoding: 0x02 } as const;

/** Cryptographic Usage Mask bits (KMIP 1.4 section 9.1.3.3.1). */
export const UsageMask = { Sign: 0x01, Verify: 0x02, Encrypt: 0x04, Decrypt: 0x08, WrapKey: 0x10, UnwrapKey: 0x20, Export: 0x40 } as const;

/**
 * The spaced name of an enumeration value ('Item Not Found'), or its hex when the table lacks it.
 * @example nameOf(ResultReason, 1) // 'Item Not Found'
 */
export function nameOf(table: Readonly<Record<string, number>>, value: number | undefined): string {
  if (value === undefined) return 'none';
  for (const [name, v] of Object.entries(table)) {
    if (v === value) return name.replace(/([a-z])([A-Z])/g, '$1 $2');
  }
  return `0x${value.toString(16).padStart(8, '0')}`;
}
