/**
 * validate-logs/checkpoint: what a run pins and what others countersign. Checkpoints (a signed
 * note naming the newest digest a run validated, and whether the chain before it was whole),
 * C2SP signed notes with Ed25519 keys (the envelope, and the witnesses' cosignatures), the check
 * that a chain extends a pinned checkpoint, and RFC 3161 time stamps over a checkpoint. Portable,
 * as the main entry is. For the time stamps, importing this entry loads pkijs and asn1js, and
 * pkijs registers its crypto engine globally (under Node, a property of `globalThis` named by the
 * process id): the main entry does neither.
 *
 * @example
 * ```ts
 * import { noteVerifierKeyFromPem, openCheckpoint } from 'validate-logs/checkpoint';
 * const key = noteVerifierKeyFromPem(publicKeyPem, 'example.com/log');
 * const { checkpoint } = await openCheckpoint(noteText, [key]);
 * for (const c of checkpoint.chains) console.log(c.trailArn, c.region);
 * ```
 * @module
 */
export {
  NOTE_ED25519,
  MAX_NOTE_BYTES,
  MAX_NOTE_SIGNATURES,
  formatNote,
  formatNoteSignerKey,
  formatNoteVerifierKey,
  generateNoteSignerKey,
  noteKeyId,
  noteKeyLabel,
  noteKeyToPem,
  noteSignerKey,
  noteSignerKeyFromPem,
  noteVerifierKey,
  noteVerifierKeyFromPem,
  parseNote,
  parseNoteSignerKey,
  parseNoteVerifierKey,
  signNote,
  verifyNote,
  type NoteOptions,
  type NoteSignature,
  type NoteSignerKey,
  type NoteVerifierKey,
  type SignedNote,
  type VerifiedNote,
} from './checkpoint/note.js';
export {
  CHECKPOINT_HEADER,
  checkpointChain,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  type Checkpoint,
  type CheckpointChain,
  type OpenedCheckpoint,
} from './checkpoint/checkpoint.js';
export { reportSha256 } from './checkpoint/report-hash.js';
export {
  checkExtension,
  extensionFindings,
  type ExtensionFailure,
  type ExtensionOptions,
  type ExtensionResult,
  type HeadDigest,
  type PinnedDigest,
} from './checkpoint/extend.js';
export {
  MAX_TIMESTAMP_RESPONSE_BYTES,
  checkTimestampResponse,
  createTimestampRequest,
  requestTimestamp,
  verifyTimestamp,
  type CheckTimestampOptions,
  type CheckedTimestamp,
  type RequestTimestampOptions,
  type TimestampExchange,
  type TimestampInfo,
  type TimestampRequest,
  type VerifyTimestampOptions,
} from './checkpoint/timestamp.js';
