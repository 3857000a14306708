/**
 * Running the plan: each region's chain walked (several at once), its findings counted and
 * handed to the output in region order, a region with no digest in range reported
 * `CHAIN_EMPTY`.
 * @module
 */
import { finding, type Finding } from '../chain/findings.js';
import { Tally, isEmptySummary, type RegionResult, type Summary } from '../chain/report.js';
import { verifyTrailPages } from '../parallel/verify.js';
import type { ChainEnds, PinnedHead } from '../chain/walk.js';
import { PublicKeySet, type PublicKeyInfo } from '../crypto/keys.js';
import { ValidateLogsError } from '../errors.js';
import { digestFolder, s3Uri, type TrailRef } from '../format/keys.js';
import type { ObjectSource } from '../sources/source.js';
import { UsageError } from './io.js';
import type { Plan, Settings } from './plan.js';
import type { Progress } from './progress.js';

/** The CloudTrail calls, loaded only by runs that go online. */
const cloudTrail = (): Promise<typeof import('../sources/cloudtrail.js')> => import('../sources/cloudtrail.js');

/** Where a run's findings go, region by region, in region order. */
export interface RegionSink {
  /**
   * Whether a finding is written at all. Those that are not are counted, never kept while
   * another region's output is being written.
   * @param f - the finding
   */
  wants(f: Finding): boolean;
  /**
   * Write one finding of the current region.
   * @param region - its region
   * @param f - the finding
   */
  finding(region: string, f: Finding): Promise<void> | void;
  /**
   * The current region is done.
   * @param region - the region
   * @param summary - its summary
   */
  regionEnd(region: string, summary: Summary): Promise<void> | void;
}

/** What the regions' walks need besides the plan. */
export interface RegionContext {
  /** The plan. */
  plan: Plan;
  /** The checked flags. */
  settings: Settings;
  /** Where to read (the plan's source, or one that keeps what it reads as evidence). */
  source: ObjectSource;
  /** Collects every key used (for the evidence's key file). */
  usedKeys: PublicKeySet;
  /** The progress line. */
  progress: Progress;
  /** Writes a note on stderr. */
  note: (text: string) => void;
  /** Stops every walk. */
  signal?: AbortSignal;
  /**
   * Digests pinned by a checkpoint, by region: each such region's walk must reach its pin, and
   * starts at the pin's end time when `startAtPins` is set (no `--start-time`).
   */
  pins?: ReadonlyMap<string, PinnedHead & { endTime: Date }>;
  /** Start each pinned region at its pin. */
  startAtPins?: boolean;
  /** Keep every finding and each chain's ends, for a checkpoint of the run. */
  keep?: boolean;
}

/** What a region's walk leaves for a checkpoint: its findings and its chain's ends. */
export interface RegionRecord {
  /** Every finding of the region, in order. */
  findings: Finding[];
  /** The standard chain's newest and oldest verified digests. */
  ends: ChainEnds;
}

/** Validates the plan's regions, concurrently, streaming their findings to a sink in region order. */
export class RegionRunner {
  readonly #ctx: RegionContext;
  readonly #tallies: Tally[];
  readonly #records: RegionRecord[];

  /**
   * @param ctx - the plan and what the walks need
   */
  constructor(ctx: RegionContext) {
    this.#ctx = ctx;
    this.#tallies = ctx.plan.regions.map(() => new Tally(ctx.settings.start, ctx.settings.end));
    this.#records = ctx.plan.regions.map(() => ({ findings: [], ends: {} }));
  }

  /** @returns each region's findings and chain ends, when the context asked to keep them */
  records(): readonly RegionRecord[] {
    return this.#records;
  }

  /** @returns each region's result so far (complete once {@link run} resolves) */
  results(): RegionResult[] {
    return this.#ctx.plan.regions.map((region, i) => ({ region, summary: this.#tallies[i]!.summary() }));
  }

  /**
   * Walk every region, the first region's findings written as they come, the others' kept (as
   * far as the sink wants them) until the regions before them are written. When a region
   * fails, the others stop, what was kept is written, and the failure is thrown.
   * @param sink - where the findings go
   * @returns each region's result
   */
  async run(sink: RegionSink): Promise<RegionResult[]> {
    const { regions } = this.#ctx.plan;
    const stop = new AbortController();
    const signal = this.#ctx.signal ? AbortSignal.any([this.#ctx.signal, stop.signal]) : stop.signal;
    const kept: Finding[][] = regions.map(() => []);
    const done = regions.map(() => false);
    let current = 0;
    // Every write goes through one chain, so that output stays in order while regions finish in any order.
    let chain: Promise<void> = Promise.resolve();
    let queued = 0; // steps on the chain not yet settled
    const serial = (step: () => Promise<void> | void): Promise<void> => {
      queued++;
      chain = chain.then(step).then(
        () => void queued--,
        (e: unknown) => {
          queued--;
          throw e;
        },
      );
      return chain;
    };
    const emit = (i: number, f: Finding): Promise<void> | undefined => {
      signal.throwIfAborted();
      if (i !== current) {
        if (sink.wants(f)) kept[i]!.push(f);
        return undefined;
      }
      if (queued > 0) return serial(() => sink.finding(regions[i]!, f));
      // Nothing waits before it: written now, and only a write that must wait joins the chain.
      const written = sink.finding(regions[i]!, f);
      return written === undefined ? undefined : serial(() => written);
    };
    const advance = async (): Promise<void> => {
      while (current < regions.length && done[current]) {
        await sink.regionEnd(regions[current]!, this.#tallies[current]!.summary());
        current++;
        if (current < regions.length) {
          const batch = kept[current]!;
          kept[current] = [];
          for (const f of batch) await sink.finding(regions[current]!, f);
        }
      }
    };
    const walks = regions.map(async (region, i) => {
      await this.#validate(region, this.#tallies[i]!, this.#records[i]!, signal, (f) => emit(i, f));
      done[i] = true;
      await serial(advance);
    });
    try {
      await Promise.all(walks);
    } catch (e) {
      stop.abort(e);
      // A write that failed already failed the run: it is `e`, or follows it.
      await chain.catch(() => undefined);
      // Stopped from outside, the output is being ended already; else what the stopped walks
      // found so far is written too (the counts include it).
      if (!this.#ctx.signal?.aborted) {
        for (let j = current + 1; j < regions.length; j++) for (const f of kept[j]!) await sink.finding(regions[j]!, f);
      }
      throw e;
    }
    return this.results();
  }

  /** Validate one region, counting each finding and handing it to `emit`. */
  async #validate(region: string, tally: Tally, record: RegionRecord, signal: AbortSignal, emit: (f: Finding) => Promise<void> | undefined): Promise<void> {
    const { plan, settings, progress } = this.#ctx;
    const trail: TrailRef = { ...plan.trail, region };
    const call = { region, ...(plan.profile && { profile: plan.profile }), ...(plan.http && { http: plan.http }) };
    const askKeys = plan.online && plan.keys.size === 0;
    const fetchKeys = async (from: Date, to: Date): Promise<Iterable<PublicKeyInfo>> => {
      const got = await (await cloudTrail()).listPublicKeysOnline(call, from, to);
      this.#ctx.usedKeys.addAll(got);
      return got;
    };
    // The region's keys (as the AWS CLI asks: over [start, end + 2 h]) and the trail's status, at once.
    const [fetched, latest] = await Promise.all([
      askKeys ? fetchKeys(settings.start, new Date(settings.end.getTime() + 2 * 3_600_000)) : [],
      plan.online && region === settings.arn.region
        ? cloudTrail().then((c) => c.latestDigestDelivery(call, settings.arnText)).catch((e: unknown) => {
            if (!(e instanceof ValidateLogsError)) throw e;
            this.#ctx.note(`the deleted-tail check uses log files only: ${e.message}`);
            return undefined;
          })
        : undefined,
    ]);
    const keys = new PublicKeySet(plan.keys).addAll(fetched);
    const pin = this.#ctx.pins?.get(region);
    let seen = 0;
    const keep = this.#ctx.keep === true;
    // Counted, kept, written: a promise only when the write must wait (most findings are written at once, or not at all).
    const take = (f: Finding): Promise<void> | undefined => {
      tally.add(f);
      if (keep) record.findings.push(f);
      seen++;
      return emit(f);
    };
    for await (const page of verifyTrailPages({
      source: this.#ctx.source,
      bucket: plan.bucket,
      trail,
      keys,
      start: pin && this.#ctx.startAtPins ? pin.endTime : settings.start,
      end: settings.end,
      concurrency: settings.concurrency,
      platform: settings.platform,
      ...(pin && { pinned: { key: pin.key, sha256: pin.sha256 } }),
      onChain: (ends) => (record.ends = ends),
      tailGraceMs: settings.tailGraceMs,
      signal,
      ...(settings.maxLogBytes !== undefined && { maxLogBytes: settings.maxLogBytes }),
      ...(askKeys && { fetchKeys }),
      ...(latest && { latestDigestDelivery: latest }),
      onListed: (n) => {
        progress.digestsTotal += n;
      },
    })) {
      for (const f of page) {
        if (f.kind === 'digest') progress.digestsDone++;
        if (f.kind === 'log') {
          progress.objects++;
          progress.bytes += f.size ?? 0;
        }
        const written = take(f);
        if (written) await written;
      }
      progress.tick();
    }
    const summary = tally.summary();
    if (!isEmptySummary(summary) || summary.byCode.CHAIN_EMPTY) return;
    // Checked only now, off the common path. A region named but with nothing at all under its
    // digest folder is a wrong place (exit 2); one found by --regions all has a folder.
    if (seen === 0 && !plan.discovered) await requireDigestFolder(plan.source, plan.bucket, trail, plan.online ? `s3://${plan.bucket}` : 'the local copy');
    await take(emptyChain(plan.bucket, trail, settings));
  }
}

/**
 * When a named region's walk found nothing: is there any object under its digest folder?
 * None means the wrong place (exit 2); some means only none in range.
 */
async function requireDigestFolder(source: ObjectSource, bucket: string, trail: TrailRef, where: string): Promise<void> {
  const folder = digestFolder(trail);
  for await (const _ of source.list(bucket, folder)) return;
  throw new UsageError(`no digest files under ${folder} in ${where}: check --local-dir (the bucket root), --s3-bucket, --s3-prefix, --account-id and --region`);
}

/** The `CHAIN_EMPTY` notice of a region with no digest in range, about its digest folder. */
function emptyChain(bucket: string, trail: TrailRef, settings: Settings): Finding {
  const key = digestFolder(trail);
  return finding('CHAIN_EMPTY', {
    kind: 'chain',
    object: s3Uri(bucket, key),
    bucket,
    key,
    backfill: false,
    region: trail.region,
    message: `no digest file of this trail in ${trail.region} between ${settings.startText} and ${settings.endText}`,
  });
}
