/**
 * validate-logs/scale: an organization's digest chains cut into shards that run apart (one
 * chain, one time window each) and merged back into one verdict per chain. The manifest a worker
 * gets, the discovery of every chain in a bucket, one shard's run, and the merge of shard
 * reports (with the coverage helpers that judge, over a whole chain, the logs no digest lists). Portable, as the main entry is.
 *
 * @example
 * ```ts
 * import { planShards, runShard } from 'validate-logs/scale';
 * const items = planShards(chains, start, end, { shardHours: 24 * 7 });
 * const reports = await Promise.all(items.map((item) => runShard({ item, source, keys })));
 * ```
 * @module
 */
export {
  SHARD_FORMAT_VERSION,
  SHARD_INDEX_VARIABLES,
  chainId,
  checkShardItem,
  cutWindow,
  formatManifest,
  ownership,
  parseManifest,
  planShards,
  shardTrail,
  type ChainRef,
  type ChainTrail,
  type Ownership,
  type ShardItem,
} from './scale/manifest.js';
export { discoverChains, type DiscoverOptions } from './scale/plan.js';
export { runShard, type BoundaryDigest, type DigestLink, type ShardBoundary, type ShardReport, type ShardRunOptions } from './scale/shard.js';
export { checkShardReport, mergeChain, missingShards, type ChainResult } from './scale/merge.js';
export { mergeSpans, unreferencedReason } from './chain/coverage.js';
