/**
 * validate-logs on Node: a local copy of a bucket as storage (digests' signatures in
 * `.metadata.json` sidecars), a source that saves what it reads as evidence, writing a
 * trail's digests into storage, and the Node platform (`node:crypto`, `node:zlib`), which is
 * the default under Node anyway.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * import { PublicKeySet, verifyTrail } from 'validate-logs';
 * import { LocalDirectory } from 'validate-logs/node';
 * const keys = PublicKeySet.fromListPublicKeys(await readFile('keys.json', 'utf8'));
 * const source = new LocalDirectory('./bucket-copy', { bucket: 'my-bucket' });
 * for await (const f of verifyTrail({ source, bucket: 'my-bucket', trail, keys, start })) console.log(f.code);
 * ```
 * @module
 */
export { createNodePlatform, nodePlatform, type NodePlatformOptions } from './parallel/node.js';
export type { Offload, PooledPlatform, DigestJob, DigestCheck, CheckedDigest } from './chain/offload.js';
export { LocalDirectory, METADATA_SUFFIX, type LocalDirectoryOptions } from './sources/local.js';
export { SavingSource } from './sources/saving.js';
export { writeDigests, findChainHead, type WriteDigestsOptions, type WriteDigestsResult } from './run/write-digests.js';
export { collectReports, readShardReport, type CollectedReports } from './scale/collect.js';
export { runShardFromPlan, reportName, shardIndexFromEnv, type PlannedShardOptions, type PlannedShardResult } from './scale/run.js';
export { DocumentStore, s3Location, within, type S3Location } from './scale/store.js';
