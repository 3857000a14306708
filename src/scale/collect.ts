/**
 * Reading shard reports from where the workers wrote them (files, folders, S3 prefixes) and
 * merging them chain by chain. Two passes: the first only checks that every shard of the plan
 * has its report, the second reads one chain's reports at a time, so memory holds one chain.
 * @module
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { ValidateLogsError } from '../errors.js';
import { checkPlan, differingField, type ShardItem } from './manifest.js';
import { checkChainParts, checkShardReport, mergeChain, missingShards, type ChainResult, type ShardPart } from './merge.js';
import type { ShardReport } from './shard.js';
import { s3Location, type DocumentStore } from './store.js';

/**
 * Read and check one shard report.
 * @param store - where documents are read
 * @param where - the report's location
 * @returns the report
 * @throws ValidateLogsError `SHARD_INVALID` when it is not a shard report, `SOURCE_ERROR` when it cannot be read
 */
export async function readShardReport(store: DocumentStore, where: string): Promise<ShardReport> {
  return (await readReport(store, where)).report;
}

/** A report read and checked, with the hash of its text (to see that it is the same when read again). */
async function readReport(store: DocumentStore, where: string): Promise<{ report: ShardReport; sha256: string }> {
  const text = await store.read(where);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ValidateLogsError('SHARD_INVALID', `${where} is not JSON: ${(e as Error).message}`);
  }
  return { report: checkShardReport(value, where), sha256: createHash('sha256').update(text).digest('hex') };
}

/** The name a shard report is written under (`shard-000017.json`): other documents in the folder are not reports. */
const REPORT_NAME_RE = /(?:^|[/\\])shard-\d{6,}\.json$/;

/** Each argument a report, a folder of reports (`*.json`), or an S3 prefix. */
async function reportLocations(store: DocumentStore, args: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    const s3 = s3Location(a);
    const folder = s3 ? !s3.key.endsWith('.json') : (await stat(a).catch(() => undefined))?.isDirectory() === true; // absent: read (and named) below
    if (folder) out.push(...(await store.list(a, '.json')).filter((w) => REPORT_NAME_RE.test(w)));
    else out.push(a);
  }
  return out;
}

/** The reports found, and their merge. */
export interface CollectedReports {
  /** Every shard that has its report, in manifest order. */
  shards: ShardItem[];
  /** The chains' results: a chain's reports are read when it is asked for. */
  chains: AsyncIterable<ChainResult>;
}

/**
 * Merge the shard reports found at `args` (in a folder or under a prefix: the `shard-NNNNNN.json`
 * documents), one chain at a time, in manifest order.
 *
 * @param store - where documents are read
 * @param args - report files, folders of reports, `s3://BUCKET/PREFIX/`
 * @param manifest - the plan's manifest, to name missing shards fully
 * @returns the chains' results (an async iterable: a chain is read when it is asked for)
 * @throws ValidateLogsError `SHARD_MISSING` naming every shard without report (before any
 *   result), `SHARD_INVALID` for a malformed report or reports that do not fit together: two of
 *   one shard, a shard that is not the manifest's line (or, without a manifest, shards that are
 *   not the plan they name), parts of a chain that do not join, a report that changed between
 *   its two readings (while iterating)
 */
export async function collectReports(store: DocumentStore, args: readonly string[], manifest?: readonly ShardItem[]): Promise<CollectedReports> {
  const byIndex = new Map<number, { where: string; shard: ShardItem; sha256: string; part: ShardPart }>();
  for (const where of await reportLocations(store, args)) {
    const { report: { shard, boundary }, sha256 } = await readReport(store, where);
    const seen = byIndex.get(shard.index);
    if (seen) throw new ValidateLogsError('SHARD_INVALID', `${where} and ${seen.where} are both reports of shard ${shard.index}`);
    const planned = manifest?.[shard.index];
    const field = planned && differingField(shard, planned);
    if (field) {
      throw new ValidateLogsError(
        'SHARD_INVALID',
        `${where} is not a report of shard ${shard.index} of the manifest: its "${field}" is ${JSON.stringify(shard[field])}, line ${shard.index + 1} of the manifest says ${JSON.stringify(planned[field])}`,
      );
    }
    // What the joins need, kept for every report: its edges (not its findings).
    const { oldest, newest, coverage } = boundary;
    const part: ShardPart = { shard, boundary: { ...(oldest && { oldest }), ...(newest && { newest }), ...(coverage && { coverage: { tailGraceMs: coverage.tailGraceMs } }) } };
    byIndex.set(shard.index, { where, shard, sha256, part });
  }
  if (byIndex.size === 0) throw new ValidateLogsError('SHARD_MISSING', `no shard report (*.json) in ${args.join(', ')}`);
  const found = [...byIndex.values()].sort((a, b) => a.shard.index - b.shard.index);
  const missing = missingShards(found.map((r) => r.shard), manifest);
  if (missing.length > 0) {
    throw new ValidateLogsError('SHARD_MISSING', `${missing.slice(0, 10).join('; ')}${missing.length > 10 ? `; and ${missing.length - 10} more` : ''}: run those shards again`);
  }
  // Every shard present and each as planned: the plan id each names is the hash of them all.
  if (!manifest) checkPlan(found.map((r) => r.shard), `the shards of the reports in ${args.join(', ')}`);
  const chains = new Map<string, Array<{ where: string; sha256: string; part: ShardPart }>>();
  for (const r of found) chains.set(r.shard.chain, [...(chains.get(r.shard.chain) ?? []), r]);
  // Parts that do not fit together are refused before any chain is merged (and anything printed).
  for (const parts of chains.values()) checkChainParts(parts.map((p) => p.part));
  async function* results(): AsyncGenerator<ChainResult> {
    for (const parts of chains.values()) {
      const reports: ShardReport[] = [];
      for (const { where, sha256 } of parts) {
        const again = await readReport(store, where);
        if (again.sha256 !== sha256) throw new ValidateLogsError('SHARD_INVALID', `${where} changed while the merge was reading the reports: merge again once every shard has finished`);
        reports.push(again.report);
      }
      yield mergeChain(reports);
    }
  }
  return { shards: found.map((r) => r.shard), chains: results() };
}
