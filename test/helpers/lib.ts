// Everything the tests reach: the public entries and the internals they test, each from
// its source file.
export * from '../../src/index.js';
export * from '../../src/node.js';
export * from '../../src/aws.js';
export * from '../../src/checkpoint.js';
export * from '../../src/scale.js';
export { toHex, fromHex, constantTimeEqual, toBase64, fromBase64 } from '../../src/utils.js';
export { sha256 } from '../../src/hash/sha256.js';
export { toChunks } from '../../src/hash/chunks.js';
export { gunzipInto, type GunzipOptions, type GunzipResult } from '../../src/hash/gunzip.js';
export { readAll } from '../../src/hash/hash-stream.js';
export { checkTrailRef, digestFolder, logFolder, digestKeyParts, logKeyParts } from '../../src/format/keys.js';
export { DIGEST_PERIOD_MS, digestTimeMs, formatDigestTime, formatKeyTime, parseDigestTime, parseKeyTime, parseUserTime, parseIsoOrEpoch, floorHour } from '../../src/format/time.js';
export { EventTimeScanner } from '../../src/format/events.js';
export { findDuplicateKey, findDuplicateKeyIn, type DuplicateKey } from '../../src/format/json.js';
export { finding } from '../../src/chain/findings.js';
export { listDigestKeys, listLogs, type DigestKeyLists, type DigestListOptions, type LogEntry } from '../../src/chain/listing.js';
export { LogInventory, logKeyMatcher, logKeyTime } from '../../src/chain/inventory.js';
export { createLimiter } from '../../src/chain/limit.js';
export { keySegments } from '../../src/sources/source.js';
export { parseMetadata } from '../../src/sources/local.js';
export { isEd25519Point } from '../../src/crypto/ed25519.js';
export { encodeEd25519PrivateKey, encodeEd25519PublicKey, readEd25519PrivateKey, readEd25519PublicKey } from '../../src/crypto/der.js';

/** Every item of an async iterable, in order. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}
