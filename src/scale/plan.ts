/**
 * Finding the digest chains of a bucket: every account (organization layout
 * `AWSLogs/o-ID/ACCOUNT/` and plain `AWSLogs/ACCOUNT/`), every region with a digest folder,
 * every trail delivering there. Folder names come from storage and are treated as hostile:
 * only account ids, organization ids and region names of the right shape are followed.
 * @module
 */
import { createLimiter } from '../chain/limit.js';
import { digestFolder, digestKeyParts, type TrailRef } from '../format/keys.js';
import { DIGEST_PERIOD_MS, formatDateFolders } from '../format/time.js';
import type { ObjectSource } from '../sources/source.js';
import type { ChainRef, ChainTrail } from './manifest.js';

const ACCOUNT_RE = /^\d{12}$/;
const ORG_RE = /^o-[a-z0-9]{10,32}$/;
const REGION_RE = /^[a-z]{2}(?:-[a-z0-9]+)+-\d+$/;

/** Options of {@link discoverChains}. */
export interface DiscoverOptions {
  /** Where to list (it must list folders: {@link ObjectSource.folders}). */
  source: ObjectSource;
  /** The bucket. */
  bucket: string;
  /** The trails' key prefix, without a trailing `/`, if any. */
  prefix?: string;
  /** Start of the window. */
  start: Date;
  /** End of the window. */
  end: Date;
  /** Only these accounts. */
  accounts?: readonly string[];
  /** Only these regions. */
  regions?: readonly string[];
  /** Only these trails (by name); by default every trail with a digest on the first or last day of the window. */
  trails?: readonly string[];
  /** Listings at once (default 16). */
  concurrency?: number;
}

/**
 * The chains in a bucket: one per account, region and trail.
 *
 * A region folder's trails are found from its digest keys on the first and the last day of the
 * window that have digests (two small listings), so a trail that delivered only in between is
 * not found unless named in `trails`.
 *
 * @param o - where and what to look for
 * @returns the chains, sorted by account, region and trail
 * @throws TypeError when the source cannot list folders
 */
export async function discoverChains(o: DiscoverOptions): Promise<ChainRef[]> {
  const { source, bucket } = o;
  const folders = source.folders?.bind(source);
  if (!folders) throw new TypeError('discoverChains needs a source that lists folders');
  const limit = createLimiter(o.concurrency ?? 16);
  const collect = async (prefix: string): Promise<string[]> => {
    const out: string[] = [];
    for await (const f of folders(bucket, prefix)) out.push(f);
    return out;
  };
  const root = `${o.prefix ? o.prefix + '/' : ''}AWSLogs/`;
  const accounts: Array<{ accountId: string; organizationId?: string }> = [];
  for (const name of await collect(root)) {
    if (ACCOUNT_RE.test(name)) accounts.push({ accountId: name });
    else if (ORG_RE.test(name)) {
      for (const a of await limit(() => collect(`${root}${name}/`))) if (ACCOUNT_RE.test(a)) accounts.push({ accountId: a, organizationId: name });
    }
  }
  const wanted = accounts.filter((a) => !o.accounts || o.accounts.includes(a.accountId));
  const base = (a: (typeof accounts)[number]): Omit<TrailRef, 'region' | 'trailName'> => ({
    accountId: a.accountId,
    ...(o.prefix && { prefix: o.prefix }),
    ...(a.organizationId && { organizationId: a.organizationId }),
  });
  const regionLists = await Promise.all(
    wanted.map((a) =>
      limit(async () => {
        const folder = digestFolder({ ...base(a), region: 'x', trailName: 'x' }).replace(/x\/$/, '');
        return (await collect(folder)).filter((r) => REGION_RE.test(r) && (!o.regions || o.regions.includes(r))).map((region) => ({ ...base(a), region }));
      }),
    ),
  );
  const chains = await Promise.all(regionLists.flat().map((r) => limit(() => trailsOf(o, r))));
  return chains
    .flat()
    .map((trail) => ({ bucket, trail }))
    .sort((a, b) => cmp(a.trail.accountId, b.trail.accountId) || cmp(a.trail.region, b.trail.region) || cmp(a.trail.trailName, b.trail.trailName) || cmp(a.trail.homeRegion, b.trail.homeRegion));
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The trails delivering digests into one region folder, seen on the first and last days of the window. */
async function trailsOf(o: DiscoverOptions, at: Omit<TrailRef, 'trailName'>): Promise<ChainTrail[]> {
  const folder = digestFolder({ ...at, trailName: 'x' });
  const found = new Map<string, ChainTrail>();
  const last = o.end.getTime() + DIGEST_PERIOD_MS;
  const take = (key: string): number | undefined => {
    const p = digestKeyParts(key);
    if (!p || p.accountId !== at.accountId || p.region !== at.region || p.organizationId !== at.organizationId || p.prefix !== at.prefix) return undefined;
    const t = p.endTime.getTime();
    if (t < o.start.getTime() || t > last) return t;
    if (!o.trails || o.trails.includes(p.trailName)) found.set(`${p.trailName}\n${p.homeRegion}`, { ...at, trailName: p.trailName, homeRegion: p.homeRegion });
    return t;
  };
  // The first day with digests at or after the start: its keys.
  let day: string | undefined;
  for await (const { key } of o.source.list(o.bucket, folder, `${folder}${formatDateFolders(o.start)}`)) {
    const keyDay = key.slice(folder.length, folder.length + 10);
    if (day !== undefined && keyDay !== day) break;
    const t = take(key);
    if (t !== undefined && t > last) break;
    if (t !== undefined) day = keyDay;
  }
  // The last day of the window (and the hour after it).
  for (const d of new Set([formatDateFolders(o.end), formatDateFolders(new Date(last))])) {
    for await (const { key } of o.source.list(o.bucket, `${folder}${d}/`)) take(key);
  }
  return [...found.values()];
}
