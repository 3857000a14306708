/**
 * `validate-logs` with checkpoints: `--checkpoint` (a run from the digests an earlier run pinned,
 * its note verified against every `--checkpoint-public-key`, its time stamp against
 * `--tsa-cert`), and `--checkpoint-out` (after the run, a signed note pinning each chain that is
 * valid up to its newest digest, written atomically, time-stamped with `--timestamp-url`).
 * @module
 */
import { signCheckpoint, type CheckpointChain } from '../checkpoint/checkpoint.js';
import type { NoteSignerKey } from '../checkpoint/note.js';
import type { Judgement } from '../chain/report.js';
import type { PinnedHead } from '../chain/walk.js';
import { formatDigestTime } from '../format/time.js';
import { readCheckpoint, readTsaCert, signerKey, timestampNote, verifierKey, verifyTimestampFile, writeAtomically } from './checkpoint-files.js';
import { UsageError } from './io.js';
import type { ValidateFlags } from './plan.js';
import type { RegionRecord } from './regions.js';

/** What the checkpoint flags ask for, read and checked before the run. */
export interface CheckpointPlan {
  /** The digests pinned by `--checkpoint`, by region (this trail's chains only). */
  pins?: Map<string, PinnedHead & { endTime: Date; bucket: string }>;
  /** The oldest pinned end: where the run starts without `--start-time`. */
  start?: Date;
  /** Where `--checkpoint-out` goes, with the key that signs it. */
  out?: { path: string; signer: NoteSignerKey };
  /** Notes for stderr (the time stamp found on the checkpoint). */
  notes: string[];
}

/**
 * Read the checkpoint flags: verify `--checkpoint` (every key's signature, and its time stamp
 * with `--tsa-cert`) and load the `--checkpoint-out` signing key, so that every mistake is a
 * usage error before anything is validated.
 * @param flags - the parsed flags
 * @returns the checkpoint plan
 * @throws UsageError, or ValidateLogsError `NOTE_UNVERIFIED` naming a key that did not sign
 */
export async function readCheckpointFlags(flags: ValidateFlags): Promise<CheckpointPlan> {
  const plan: CheckpointPlan = { notes: [] };
  const file = flags.checkpoint;
  if (file !== undefined) {
    const values = flags['checkpoint-public-key'] ?? [];
    if (values.length === 0) throw new UsageError('--checkpoint needs --checkpoint-public-key: the key(s) that must all have signed it (see --help)');
    const arn = flags['trail-arn'];
    const opened = await readCheckpoint(file, '--checkpoint', await Promise.all(values.map(verifierKey)));
    if (flags['tsa-cert'] !== undefined) {
      const stamp = await verifyTimestampFile(file, opened.bytes, flags['tsa-cert']);
      plan.notes.push(`${file} was time-stamped at ${formatDigestTime(stamp.genTime)} by ${stamp.signer}`);
    }
    const mine = opened.checkpoint.chains.filter((c) => c.trailArn === arn);
    if (mine.length === 0) throw new UsageError(`--checkpoint ${file} pins no chain of ${arn ?? 'the trail'} (it pins ${opened.checkpoint.chains.map((c) => c.trailArn).join(', ')})`);
    plan.pins = new Map(mine.map((c) => [c.region, { key: c.key, sha256: c.sha256, endTime: new Date(c.endTime), bucket: c.bucket }]));
    plan.start = new Date(Math.min(...mine.map((c) => Date.parse(c.endTime))));
  }
  const out = flags['checkpoint-out'];
  if (out !== undefined) {
    const key = flags['checkpoint-key'];
    if (key === undefined) throw new UsageError('--checkpoint-out needs --checkpoint-key: the Ed25519 key that signs the checkpoint (openssl genpkey -algorithm ed25519)');
    plan.out = { path: out, signer: await signerKey(key, flags['checkpoint-name'], { key: '--checkpoint-key', name: '--checkpoint-name' }) };
  } else if (flags['timestamp-url'] !== undefined) {
    throw new UsageError('--timestamp-url time-stamps the checkpoint that --checkpoint-out writes: give --checkpoint-out');
  }
  if (flags['tsa-cert'] !== undefined) await readTsaCert(flags['tsa-cert']); // for the new token: a mistake is found before the run
  return plan;
}

/**
 * Check that the pinned digests lie in the bucket being validated.
 * @param plan - the checkpoint plan
 * @param bucket - the bucket validated
 * @throws UsageError naming the chain
 */
export function checkPinsBucket(plan: CheckpointPlan, bucket: string): void {
  for (const [region, pin] of plan.pins ?? []) {
    if (pin.bucket !== bucket) throw new UsageError(`--checkpoint pins the ${region} chain in bucket ${pin.bucket}, not in ${bucket}, the bucket validated`);
  }
}

/** What {@link writeCheckpoint} needs from the run. */
export interface FinishedRun {
  /** The trail ARN as given. */
  trailArn: string;
  /** The bucket. */
  bucket: string;
  /** The regions, in report order. */
  regions: readonly string[];
  /** Each region's findings and chain ends. */
  records: readonly RegionRecord[];
  /** The judgement of the run. */
  judgement: Judgement;
}

/**
 * Write `--checkpoint-out`: a signed note pinning the newest digest of every chain whose run is
 * clean, and the SHA-256 of the run's report; with `--timestamp-url`, its time stamp beside it
 * (got and checked first: when the authority fails, neither is written). Nothing is written
 * when no chain is clean.
 * @param plan - the checkpoint plan (with `out`)
 * @param run - what the run found
 * @param timestampUrl - an RFC 3161 authority, when the checkpoint is to be time-stamped
 * @param tsaCert - the authority's certificate, to verify its token before keeping it
 * @returns what to tell the user
 */
export async function writeCheckpoint(plan: CheckpointPlan, run: FinishedRun, timestampUrl?: string, tsaCert?: string): Promise<string[]> {
  const out = plan.out!;
  const chains: CheckpointChain[] = [];
  run.regions.forEach((region, i) => {
    const newest = run.records[i]!.ends.newest;
    const judged = run.judgement.regions.find((r) => r.region === region);
    if (newest && judged?.ok) chains.push({ trailArn: run.trailArn, region, bucket: run.bucket, key: newest.key, endTime: newest.endTime, sha256: newest.sha256 });
  });
  if (chains.length === 0) return [`no checkpoint written to ${out.path}: no chain is valid up to its newest digest`];
  chains.sort((a, b) => (a.region < b.region ? -1 : a.region > b.region ? 1 : 0));
  const findings = run.records.flatMap((r) => r.findings);
  const { reportSha256 } = await import('../checkpoint/report-hash.js'); // the canonical JSON writer, only for runs that write
  const text = await signCheckpoint({ chains, reportSha256: reportSha256({ findings, summary: run.judgement.summary }) }, [out.signer]);
  // The token is got and checked first: with --timestamp-url, the checkpoint is written with its token or not at all.
  const stamp = timestampUrl === undefined ? undefined : await timestampNote(timestampUrl, out.path, text, tsaCert);
  await writeAtomically(out.path, text);
  if (stamp) await writeAtomically(`${out.path}.tsr`, stamp.token);
  const notes = [`checkpoint written to ${out.path}: ${chains.map((c) => `${c.region} up to ${c.endTime}`).join(', ')}`];
  const skipped = run.regions.length - chains.length;
  if (skipped > 0) notes.push(`${skipped} chain${skipped === 1 ? ' is' : 's are'} not in the checkpoint: not valid up to the newest digest`);
  if (stamp) notes.push(`time stamp kept in ${out.path}.tsr: ${stamp.info ? `verified, ${formatDigestTime(stamp.info.genTime)}` : 'checked against the request (give --tsa-cert to verify its signature)'}`);
  return notes;
}
