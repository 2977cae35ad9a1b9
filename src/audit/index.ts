/**
 * The tamper-evident audit log (issue 5, DESIGN.md component 7): AuditLog appends hash-chained
 * entries with signed checkpoints, verifyAuditLog checks a log, exportJsonl/exportJsonlStream and
 * parseJsonl move it to and from a SIEM. Portable: WebCrypto and the WebAssembly core only.
 */
export { AuditLog, DEFAULT_CHECKPOINT_EVERY, type AuditHead, type AuditLogOptions } from './log.js';
export { verifyAuditLog, type AuditProblem, type AuditProblemKind, type AuditSource, type AuditVerification, type VerifyAuditOptions } from './verify.js';
export { exportJsonl, exportJsonlStream, parseJsonl, splitJsonl, type ExportRange } from './export.js';
export { CHECKPOINT_META_KEY, checkpointStatement } from './checkpoint.js';
export {
  AUDIT_FORMAT_VERSION,
  GENESIS_HASH,
  MAX_DETAIL_CHARS,
  MAX_ID_CHARS,
  parseAuditLine,
  type AuditCheckpoint,
  type AuditEntry,
  type AuditEvent,
  type AuditOperation,
  type AuditOutcome,
} from './entry.js';
