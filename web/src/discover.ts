/**
 * What a picked folder holds: the bucket copies in it (each with the trails, accounts, regions
 * and time span its digest keys name) and the key lists beside them. Works on relative paths
 * only (no file is read), so it runs on the page at once, before any verification.
 * @module
 */
import { DIGEST_PERIOD_MS, floorHour } from '../../src/format/time.js';
import { digestKeyParts } from '../../src/format/keys.js';
import { inSlices } from './slices.js';

/** A file of the picked folder, by its path relative to the folder's parent (`folder/a/b`). */
export interface FolderPath {
  /** `/`-separated path; the first segment is the picked folder. */
  path: string;
}

/** One trail region whose digests a bucket copy holds. */
export interface FoundTrail {
  /** Path of the bucket root inside the picked folder, ending in `/` (`evidence/my-bucket/`). */
  root: string;
  /** Key prefix before `AWSLogs/`, if any. */
  prefix?: string;
  /** Organization id, for an organization trail. */
  organizationId?: string;
  /** The account. */
  accountId: string;
  /** The region whose chain this is. */
  region: string;
  /** The region the trail was created in (the ARN's). */
  homeRegion: string;
  /** The trail name. */
  trailName: string;
  /** Standard digests found. */
  digests: number;
  /** Backfill digests found. */
  backfillDigests: number;
  /** Start of the hour the oldest digest covers (ISO, seconds). */
  startTime: string;
  /** End of the newest digest (ISO, seconds). */
  endTime: string;
}

/** What a picked folder holds. */
export interface Discovery {
  /** The picked folder's name. */
  folder: string;
  /** Trail regions, sorted by root, account, trail, region. */
  trails: FoundTrail[];
  /** Paths of files that look like key lists (`*keys*.json` outside `AWSLogs/`), for `--public-keys`. */
  keyFiles: string[];
  /** Files in the folder. */
  files: number;
}

const iso = (t: number): string => new Date(t).toISOString().slice(0, 19) + 'Z';

/**
 * The bucket root of a file that lies under `AWSLogs/`. An evidence folder (`--save-to`) holds
 * `public-keys.json` beside the bucket's folder, so the root is one level below the folder that
 * holds a key list; otherwise the picked folder is the bucket root and what lies between it and
 * `AWSLogs/` is the key prefix.
 */
function rootOf(before: string, keyDirs: Set<string>): string {
  const segments = before.split('/').filter(Boolean);
  for (let i = segments.length - 1; i >= 1; i--) {
    const dir = segments.slice(0, i).join('/') + '/';
    if (keyDirs.has(dir)) return dir + segments[i] + '/';
  }
  return (segments[0] ?? '') + '/';
}

type Found = Map<string, FoundTrail & { first: number; last: number }>;

/** Whether a path looks like a key list (`*keys*.json` outside `AWSLogs/`). */
const isKeyFile = (p: string): boolean => !/(^|\/)AWSLogs\//.test(p) && /(^|\/)[^/]*keys[^/]*\.json$/i.test(p) && !p.endsWith('.metadata.json');

/** The folders that hold key lists (an evidence folder's bucket copy lies in one). */
const keyDirsOf = (keyFiles: readonly string[]): Set<string> => new Set(keyFiles.map((p) => p.slice(0, p.lastIndexOf('/') + 1)));

/** Count a path into the trail it is a digest of, if it is one. */
function addDigest(path: string, keyDirs: Set<string>, trails: Found): void {
  const at = path.startsWith('AWSLogs/') ? 0 : path.indexOf('/AWSLogs/') + 1;
  if (at === 0 && !path.startsWith('AWSLogs/')) return;
  if (!path.endsWith('.json.gz') || !path.includes('/CloudTrail-Digest/')) return;
  const root = rootOf(path.slice(0, at), keyDirs);
  if (!path.startsWith(root)) return;
  const parsed = digestKeyParts(path.slice(root.length));
  if (!parsed) return;
  const id = [root, parsed.prefix ?? '', parsed.organizationId ?? '', parsed.accountId, parsed.trailName, parsed.homeRegion, parsed.region].join('\0');
  let t = trails.get(id);
  if (!t) {
    t = {
      root,
      ...(parsed.prefix !== undefined && { prefix: parsed.prefix }),
      ...(parsed.organizationId !== undefined && { organizationId: parsed.organizationId }),
      accountId: parsed.accountId,
      region: parsed.region,
      homeRegion: parsed.homeRegion,
      trailName: parsed.trailName,
      digests: 0,
      backfillDigests: 0,
      startTime: '',
      endTime: '',
      first: Number.POSITIVE_INFINITY,
      last: Number.NEGATIVE_INFINITY,
    };
    trails.set(id, t);
  }
  if (parsed.backfill) t.backfillDigests++;
  else t.digests++;
  const end = parsed.endTime.getTime();
  t.first = Math.min(t.first, end);
  t.last = Math.max(t.last, end);
}

function discovery(all: readonly string[], keyFiles: string[], trails: Found): Discovery {
  const out = [...trails.values()].map(({ first, last, ...t }) => ({
    ...t,
    startTime: iso(floorHour(new Date(first - DIGEST_PERIOD_MS)).getTime()),
    endTime: iso(last),
  }));
  const order = (t: FoundTrail): string => [t.root, t.accountId, t.trailName, t.region].join('\0');
  out.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  return { folder: all[0]?.split('/')[0] ?? '', trails: out, keyFiles: keyFiles.sort(), files: all.length };
}

/**
 * Find the trails in a picked folder.
 * @param files - the folder's files, by relative path
 * @returns what the folder holds
 * @example
 * ```ts
 * const found = discover([...input.files].map((f) => ({ path: f.webkitRelativePath })));
 * found.trails[0]?.trailName;
 * ```
 */
export function discover(files: Iterable<FolderPath>): Discovery {
  const all: string[] = [];
  for (const f of files) all.push(f.path);
  const keyFiles = all.filter(isKeyFile);
  const keyDirs = keyDirsOf(keyFiles);
  const trails: Found = new Map();
  for (const path of all) addDigest(path, keyDirs, trails);
  return discovery(all, keyFiles, trails);
}

/**
 * {@link discover}, a slice at a time ({@link inSlices}): the page's thread is given back to
 * the browser between slices, so a folder of any size is looked through without a long task.
 * @param files - the folder's files, by relative path
 * @param stopped - asked between slices: true ends the search (the result is then undefined)
 * @returns what the folder holds, as {@link discover} finds it
 */
export async function discoverInSlices(files: ArrayLike<FolderPath>, stopped?: () => boolean): Promise<Discovery | undefined> {
  const all: string[] = [];
  const keyFiles: string[] = [];
  const options = stopped ? { stopped } : {};
  const listed = await inSlices(
    files,
    (f) => {
      all.push(f.path);
      if (isKeyFile(f.path)) keyFiles.push(f.path);
    },
    options,
  );
  if (!listed) return undefined;
  const keyDirs = keyDirsOf(keyFiles);
  const trails: Found = new Map();
  if (!(await inSlices(all, (path) => addDigest(path, keyDirs, trails), options))) return undefined;
  return discovery(all, keyFiles, trails);
}

/**
 * The trail's ARN as the AWS CLI wants it. For an organization trail the ARN names the
 * management account, which a bucket copy does not say; the member account stands in and
 * `--account-id` names it too.
 * @param t - a found trail
 * @returns `arn:aws:cloudtrail:HOME:ACCOUNT:trail/NAME`
 */
export function trailArnOf(t: Pick<FoundTrail, 'homeRegion' | 'accountId' | 'trailName'>): string {
  return `arn:aws:cloudtrail:${t.homeRegion}:${t.accountId}:trail/${t.trailName}`;
}
