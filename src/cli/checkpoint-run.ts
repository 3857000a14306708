/**
 * `validate-logs` with checkpoints: `--checkpoint` (a run from the digests an earlier run pinned,
 * its note verified against every `--checkpoint-public-key`, its time stamp against
 * `--tsa-cert`), and `--checkpoint-out` (after the run, a signed note pinning each chain that is
 * valid up to its newest digest, written atomically, time-stamped with `--timestamp-url`).
 * @module
 */
import { signCheckpoint, type CheckpointChain } from '../checkpoint/checkpoint.js';
import type { NoteSignerKey } from '../checkpoint/note.js';
import type { TimestampInfo } from '../checkpoint/timestamp.js';
import type { Judgement } from '../chain/report.js';
import type { PinnedHead } from '../chain/walk.js';
import { digestFolder, s3Uri } from '../format/keys.js';
import { formatDigestTime } from '../format/time.js';
import { readCheckpoint, readTsaCert, signerKey, timestampNote, verifierKey, verifyTimestampFile, writeAtomically } from './checkpoint-files.js';
import { UsageError } from './io.js';
import type { Plan, ValidateFlags } from './plan.js';
import type { RegionRecord } from './regions.js';

/** A digest `--checkpoint` pins for a chain the run validates. */
export type RunPin = PinnedHead & { endTime: Date; bucket: string };

/** What the checkpoint flags ask for, read and checked before the run. */
export interface CheckpointPlan {
  /**
   * The digests pinned by `--checkpoint` for the chains the run validates, by region: before the
   * plan, this trail's pins in the regions named; after {@link scopeCheckpoint}, exactly those in
   * the run's scope (trail, bucket, account folder, region).
   */
  pins?: Map<string, RunPin>;
  /** Every chain `--checkpoint` pins, whatever its scope: `--checkpoint-out` carries forward those the run does not advance. */
  pinned?: readonly CheckpointChain[];
  /** The `--checkpoint` file, for messages. */
  file?: string;
  /** The oldest pinned end: where the run starts without `--start-time`. */
  start?: Date;
  /**
   * The bucket the pins name, for a local copy validated without `--s3-bucket`: the bucket is
   * then not guessed from the digests in range (a deleted tail would leave none to guess from).
   */
  bucket?: string;
  /** Where `--checkpoint-out` goes, with the key that signs it. */
  out?: { path: string; signer: NoteSignerKey };
  /** Notes for stderr (the time stamp found on the checkpoint). */
  notes: string[];
}

/** The regions the flags name; undefined for `--regions all` (every region of the trail). */
function namedRegions(flags: ValidateFlags): Set<string> | undefined {
  if (flags.regions === 'all') return undefined;
  if (flags.regions !== undefined) return new Set(flags.regions.split(',').map((r) => r.trim()));
  if (flags.region !== undefined) return new Set([flags.region]);
  return new Set([/^arn:[^:]*:cloudtrail:([^:]*):/.exec(flags['trail-arn'] ?? '')?.[1] ?? '']);
}

/** What a checkpoint pins, for a usage error: each chain's region, trail and digest. */
function describePins(chains: readonly CheckpointChain[]): string {
  const shown = chains.slice(0, 4).map((c) => `${c.region} of ${c.trailArn} at ${s3Uri(c.bucket, c.key)}`);
  return chains.length > shown.length ? `${shown.join(', ')} and ${chains.length - shown.length} more` : shown.join(', ');
}

/**
 * Read the checkpoint flags: verify `--checkpoint` (every key's signature, and its time stamp
 * with `--tsa-cert`) and load the `--checkpoint-out` signing key, so that every mistake is a
 * usage error before anything is validated.
 * @param flags - the parsed flags
 * @returns the checkpoint plan
 * @throws UsageError (also for a checkpoint that pins no chain of the trail in the regions
 *   named), or ValidateLogsError `NOTE_UNVERIFIED` naming a key that did not sign
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
    const regions = namedRegions(flags);
    const mine = opened.checkpoint.chains.filter((c) => c.trailArn === arn && (regions === undefined || regions.has(c.region)));
    if (mine.length === 0) {
      const scope = `${regions === undefined ? 'any region' : [...regions].join(', ')} of ${arn ?? 'the trail'}`;
      throw new UsageError(`--checkpoint ${file} pins no chain this run validates (${scope}): it pins ${describePins(opened.checkpoint.chains)}`);
    }
    plan.file = file;
    plan.pinned = opened.checkpoint.chains;
    plan.pins = new Map(mine.map((c) => [c.region, { key: c.key, sha256: c.sha256, endTime: new Date(c.endTime), bucket: c.bucket }]));
    plan.start = new Date(Math.min(...mine.map((c) => Date.parse(c.endTime))));
    const buckets = new Set(mine.map((c) => c.bucket));
    if (flags['local-dir'] !== undefined && flags['s3-bucket'] === undefined && buckets.size === 1) {
      plan.bucket = mine[0]!.bucket;
      plan.notes.push(`--s3-bucket not given: validating as bucket "${plan.bucket}", the bucket ${file} pins`);
    }
  }
  const out = flags['checkpoint-out'];
  if (out !== undefined) {
    const key = flags['checkpoint-key'];
    if (key === undefined) throw new UsageError('--checkpoint-out needs --checkpoint-key: the Ed25519 key that signs the checkpoint (openssl genpkey -algorithm ed25519)');
    plan.out = { path: out, signer: await signerKey(key, flags['checkpoint-name'], { key: '--checkpoint-key', name: '--checkpoint-name' }) };
  } else if (flags['timestamp-url'] !== undefined) {
    throw new UsageError('--timestamp-url time-stamps the checkpoint that --checkpoint-out writes: give --checkpoint-out');
  }
  if (flags['tsa-cert'] !== undefined) {
    if (file === undefined && flags['timestamp-url'] === undefined) {
      throw new UsageError('--tsa-cert verifies the time stamp of --checkpoint (FILE.tsr) or the one --timestamp-url gets: give one of them');
    }
    await readTsaCert(flags['tsa-cert']); // for the new token: a mistake is found before the run
  }
  return plan;
}

/**
 * Fit the checkpoint to the run's scope, once the plan knows the bucket, the account folder and
 * the regions. A pin of a region the run validates must be of this bucket and account folder
 * (the same chain cannot be pinned in two places). With `--regions all`, a pinned region whose
 * folder is gone is validated all the same (the plan's regions grow): a pinned chain that is
 * gone is a finding, never a region left out. Pins outside the scope are carried forward by
 * {@link writeCheckpoint}.
 * @param checkpoints - the checkpoint plan (its `pins` narrowed to the scope)
 * @param plan - the run's plan (its `regions` may grow)
 * @throws UsageError naming a pin of a region validated that lies in another bucket or folder
 */
export function scopeCheckpoint(checkpoints: CheckpointPlan, plan: Plan): void {
  const pins = checkpoints.pins;
  if (!pins) return;
  for (const [region, pin] of pins) {
    if (!plan.discovered && !plan.regions.includes(region)) {
      pins.delete(region);
      continue;
    }
    const folder = digestFolder({ ...plan.trail, region });
    if (pin.bucket !== plan.bucket || !pin.key.startsWith(folder)) {
      throw new UsageError(`--checkpoint ${checkpoints.file} pins the ${region} chain at ${s3Uri(pin.bucket, pin.key)}, not a digest of the chain validated (s3://${plan.bucket}/${folder}): another bucket, account or prefix`);
    }
    if (!plan.regions.includes(region)) plan.regions.push(region);
  }
  if (plan.discovered) plan.regions.sort();
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

/** A checkpoint {@link writeCheckpoint} wrote. */
export interface WrittenCheckpoint {
  /** Its file. */
  path: string;
  /** The signed note. */
  note: string;
  /** Its time stamp's file, and what the token says when it was verified. */
  stamp?: { path: string; info?: TimestampInfo };
}

/** The chains a new checkpoint pins, and what became of each ({@link choosePins}). */
export interface PinChoice {
  /** Every chain the new checkpoint pins. */
  chains: CheckpointChain[];
  /** Chains advanced to their newest digest: `REGION up to END`. */
  advanced: string[];
  /** Chains validated but not clean, kept at their old pin: `REGION at END`. */
  kept: string[];
  /** Old pins of chains the run did not validate, carried forward unchanged. */
  carried: CheckpointChain[];
  /** Regions not clean and with no old pin: left out. */
  left: string[];
}

/**
 * The chains a checkpoint after a run pins, by the rules of `--checkpoint-out`: a chain the run
 * validated advances to its newest digest only when it is clean (valid up to its newest digest,
 * not older than its old pin); a chain that is not clean keeps its old pin (never dropped, never
 * moved back), or is left out when it had none; every other old pin is carried forward. Pure:
 * shared by `--checkpoint-out` and `validate-logs watch`.
 * @param pinned - the old checkpoint's chains (none for a first run)
 * @param run - what the run found
 * @returns the chains to pin, and what became of each
 */
export function choosePins(pinned: readonly CheckpointChain[], run: FinishedRun): PinChoice {
  const id = (c: { trailArn: string; region: string }): string => `${c.trailArn} ${c.region}`;
  const byChain = new Map<string, CheckpointChain>(pinned.map((c) => [id(c), c]));
  const carried = new Set(byChain.keys());
  const choice: PinChoice = { chains: [], advanced: [], kept: [], carried: [], left: [] };
  run.regions.forEach((region, i) => {
    const newest = run.records[i]!.ends.newest;
    const judged = run.judgement.regions.find((r) => r.region === region);
    const key = id({ trailArn: run.trailArn, region });
    const old = byChain.get(key);
    carried.delete(key);
    if (newest && judged?.ok && (!old || newest.endTime >= old.endTime)) {
      byChain.set(key, { trailArn: run.trailArn, region, bucket: run.bucket, key: newest.key, endTime: newest.endTime, sha256: newest.sha256 });
      choice.advanced.push(`${region} up to ${newest.endTime}`);
    } else if (old) {
      choice.kept.push(`${region} at ${old.endTime}`);
    } else if (!judged?.ok) {
      choice.left.push(region);
    }
  });
  choice.chains = [...byChain.values()];
  choice.carried = [...carried].map((c) => byChain.get(c)!);
  return choice;
}

/**
 * Write `--checkpoint-out`: a signed note pinning the chains {@link choosePins} chooses, and the
 * SHA-256 of the run's report. With `--timestamp-url`, its time stamp beside it (got and checked
 * first: when the authority fails, neither is written). Nothing is written when there is no
 * chain to pin.
 * @param plan - the checkpoint plan (with `out`)
 * @param run - what the run found
 * @param timestampUrl - an RFC 3161 authority, when the checkpoint is to be time-stamped
 * @param tsaCert - the authority's certificate, to verify its token before keeping it
 * @param onWritten - told what was written (for the HTML report)
 * @returns what to tell the user (the chains advanced, kept, carried and left out)
 */
export async function writeCheckpoint(plan: CheckpointPlan, run: FinishedRun, timestampUrl?: string, tsaCert?: string, onWritten?: (written: WrittenCheckpoint) => void): Promise<string[]> {
  const out = plan.out!;
  const { chains, advanced, kept, carried, left } = choosePins(plan.pinned ?? [], run);
  if (chains.length === 0) return [`no checkpoint written to ${out.path}: no chain is valid up to its newest digest`];
  const findings = run.records.flatMap((r) => r.findings);
  const { reportSha256 } = await import('../checkpoint/report-hash.js'); // the canonical JSON writer, only for runs that write
  const text = await signCheckpoint({ chains, reportSha256: reportSha256({ findings, summary: run.judgement.summary }) }, [out.signer]);
  // The token is got and checked first: with --timestamp-url, the checkpoint is written with its token or not at all.
  const stamp = timestampUrl === undefined ? undefined : await timestampNote(timestampUrl, out.path, text, tsaCert);
  await writeAtomically(out.path, text);
  if (stamp) await writeAtomically(`${out.path}.tsr`, stamp.token);
  onWritten?.({ path: out.path, note: text, ...(stamp && { stamp: { path: `${out.path}.tsr`, ...(stamp.info && { info: stamp.info }) } }) });
  const notes = [`checkpoint written to ${out.path}: ${advanced.length > 0 ? advanced.join(', ') : 'no chain advanced'}`];
  if (kept.length > 0) notes.push(`kept at the digest ${plan.file} pins (not valid up to the newest digest, or the range ends before it): ${kept.join(', ')}`);
  if (carried.length > 0) notes.push(`carried forward from ${plan.file} (not validated by this run): ${carried.map((c) => `${c.region} of ${c.trailArn} at ${c.endTime}`).join(', ')}`);
  if (left.length > 0) notes.push(`left out of the checkpoint (not valid up to the newest digest, and no earlier pin to keep): ${left.join(', ')}`);
  if (stamp) notes.push(`time stamp kept in ${out.path}.tsr: ${stamp.info ? `verified, ${formatDigestTime(stamp.info.genTime)}` : 'checked against the request (give --tsa-cert to verify its signature)'}`);
  return notes;
}
