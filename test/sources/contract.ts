// The one contract every ObjectSource backend must meet. A backend's test file calls
// sourceContract() with a factory that stores the given objects and returns the source.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { hashStream, isValidateLogsError, type ListedObject, type ObjectSource } from '../helpers/lib.js';

export interface Fixture {
  /** The source, holding `objects` in `bucket`; and a cleanup. */
  source: ObjectSource;
  cleanup: () => Promise<void> | void;
  /**
   * For a backend where entries can be there and yet not be readable objects (a local copy's
   * FIFOs, link loops, odd names): plant some, and give the keys the listing must report them
   * under (a folder's ending in `/`).
   */
  plantUnreadable?: () => Promise<string[]> | string[];
}

export type MakeSource = (bucket: string, objects: Record<string, { body: Uint8Array; metadata?: Record<string, string> }>) => Promise<Fixture>;

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

const OBJECTS = {
  'a/b/2.json.gz': { body: new Uint8Array(gzipSync('two')), metadata: { signature: 'abcd', 'signature-algorithm': 'SHA256withRSA' } },
  'a/b/1.json.gz': { body: new Uint8Array(gzipSync('one')) },
  'a/b-c/3.txt': { body: enc('three') },
  'a/b/sub/4.txt': { body: enc('four') },
  'a/c/5.txt': { body: enc('five') },
  'z.txt': { body: enc('zed') },
  'big.bin': { body: new Uint8Array(3 * 1024 * 1024).fill(7) },
};

async function keys(source: ObjectSource, bucket: string, prefix: string, after?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of source.list(bucket, prefix, after)) out.push(o.key);
  return out;
}

async function text(source: ObjectSource, bucket: string, key: string): Promise<string | undefined> {
  const o = await source.get(bucket, key);
  if (!o) return undefined;
  const parts: Buffer[] = [];
  for await (const c of o.body) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString('utf8');
}

/** `ordering: 'segments'` for a store that sorts by path segment (s3rver) rather than by bytes as S3 does. */
export function sourceContract(name: string, make: MakeSource, ordering: 'bytes' | 'segments' = 'bytes'): void {
  describe(`ObjectSource contract: ${name}`, () => {
    const bucket = 'contract-bucket';
    const withSource = async (fn: (s: ObjectSource) => Promise<void>): Promise<void> => {
      const f = await make(bucket, OBJECTS);
      try {
        await fn(f.source);
      } finally {
        await f.cleanup();
      }
    };

    it('lists keys under a prefix in S3 byte order', () =>
      withSource(async (s) => {
        const under = await keys(s, bucket, 'a/');
        if (ordering === 'bytes') expect(under).toEqual(['a/b-c/3.txt', 'a/b/1.json.gz', 'a/b/2.json.gz', 'a/b/sub/4.txt', 'a/c/5.txt']);
        else expect([...under].sort()).toEqual(['a/b-c/3.txt', 'a/b/1.json.gz', 'a/b/2.json.gz', 'a/b/sub/4.txt', 'a/c/5.txt']);
        expect(await keys(s, bucket, 'a/b/')).toEqual(['a/b/1.json.gz', 'a/b/2.json.gz', 'a/b/sub/4.txt']);
        expect([...(await keys(s, bucket, 'a/b'))].sort()).toEqual(['a/b-c/3.txt', 'a/b/1.json.gz', 'a/b/2.json.gz', 'a/b/sub/4.txt']);
        expect(await keys(s, bucket, 'nothing/')).toEqual([]);
      }));

    it('lists only keys after startAfter', () =>
      withSource(async (s) => {
        expect(await keys(s, bucket, 'a/', 'a/b/1.json.gz')).toEqual(['a/b/2.json.gz', 'a/b/sub/4.txt', 'a/c/5.txt']);
        expect(await keys(s, bucket, 'a/', 'a/b/')).toEqual(['a/b/1.json.gz', 'a/b/2.json.gz', 'a/b/sub/4.txt', 'a/c/5.txt']);
        expect(await keys(s, bucket, 'a/', 'a/bz')).toEqual(['a/c/5.txt']);
        expect(await keys(s, bucket, 'a/', 'zzz')).toEqual([]);
      }));

    it('lists sizes and modification times when asked', () =>
      withSource(async (s) => {
        let n = 0;
        for await (const o of s.list(bucket, 'big', undefined, { details: true })) {
          expect(o.size).toBe(3 * 1024 * 1024);
          expect(o.lastModified).toBeInstanceOf(Date);
          n++;
        }
        expect(n).toBe(1);
      }));

    it('gets bodies as streams, whole', () =>
      withSource(async (s) => {
        expect(await text(s, bucket, 'z.txt')).toBe('zed');
        const big = await s.get(bucket, 'big.bin');
        const r = await hashStream(big!.body);
        expect(r.size).toBe(3 * 1024 * 1024);
      }));

    it('gets user metadata when asked', () =>
      withSource(async (s) => {
        const o = await s.get(bucket, 'a/b/2.json.gz', { metadata: true });
        expect(o?.metadata).toEqual({ signature: 'abcd', 'signature-algorithm': 'SHA256withRSA' });
        const none = await s.get(bucket, 'a/b/1.json.gz', { metadata: true });
        expect(none?.metadata ?? {}).toEqual({});
        for await (const _ of o!.body) break;
        for await (const _ of none!.body) break;
      }));

    it('resolves undefined for an absent object, a folder, or another bucket', () =>
      withSource(async (s) => {
        expect(await s.get(bucket, 'a/b/none.json.gz')).toBeUndefined();
        expect(await s.get(bucket, 'a/b')).toBeUndefined();
        expect(await s.get('other-bucket', 'z.txt')).toBeUndefined();
      }));

    it('never serves a key that climbs out of the bucket', () =>
      withSource(async (s) => {
        for (const key of ['../z.txt', 'a/../z.txt', '/etc/passwd', 'a/./b/1.json.gz', 'a\\b', 'a\0b', 'a//b']) {
          let result: unknown;
          try {
            result = await s.get(bucket, key);
          } catch (e) {
            expect(isValidateLogsError(e, 'UNSAFE_KEY')).toBe(true);
            continue;
          }
          expect(result).toBeUndefined();
        }
      }));
  
    it('accounts for every entry: each listed object can be read, each unreadable one is listed so and refused, never hangs', async () => {
      const f = await make(bucket, OBJECTS);
      try {
        const planted = (await f.plantUnreadable?.()) ?? [];
        const listed: ListedObject[] = [];
        for await (const o of f.source.list(bucket, '')) listed.push(o);
        expect(listed.filter((o) => o.unreadable === undefined).map((o) => o.key).sort()).toEqual(Object.keys(OBJECTS).sort());
        expect(listed.filter((o) => o.unreadable !== undefined).map((o) => o.key).sort()).toEqual([...planted].sort());
        for (const o of listed) {
          if (o.key.endsWith('/')) continue; // a folder: nothing to get
          const read = (async (): Promise<unknown> => {
            const got = await f.source.get(bucket, o.key);
            if (!got) return 'absent';
            for await (const _ of got.body) {
              // drained: the whole object can be read
            }
            return 'read';
          })().catch((e: unknown) => e);
          const outcome = await Promise.race([read, new Promise((resolve) => setTimeout(() => resolve('hung'), 3000).unref())]);
          if (o.unreadable === undefined) expect(outcome, o.key).toBe('read');
          // Refused: NOT_READABLE, or UNSAFE_KEY for a name no key may have (a backslash).
          else expect(isValidateLogsError(outcome, 'NOT_READABLE', 'UNSAFE_KEY'), `${o.key}: ${String(outcome)}`).toBe(true);
        }
      } finally {
        await f.cleanup();
      }
    });

    it('pages through a listing longer than one page (1,000 keys)', async () => {
      const many: Record<string, { body: Uint8Array }> = {};
      for (let i = 0; i < 1100; i++) many[`p/${String(i).padStart(5, '0')}.txt`] = { body: enc(String(i)) };
      const f = await make(bucket, many);
      try {
        const all = await keys(f.source, bucket, 'p/');
        expect(all).toHaveLength(1100);
        expect(all).toEqual(Object.keys(many));
        expect(await keys(f.source, bucket, 'p/', 'p/01049.txt')).toEqual(Object.keys(many).slice(1050));
        // A source that lists in pages gives the same entries, in the same order, page after page.
        if (f.source.listPages) {
          for (const [prefix, after] of [['p/', undefined], ['p/', 'p/01049.txt'], ['', undefined], ['p/0109', undefined]] as const) {
            const paged: ListedObject[] = [];
            let pages = 0;
            for await (const page of f.source.listPages(bucket, prefix, after)) {
              expect(page.length, 'no empty page').toBeGreaterThan(0);
              expect(page.length).toBeLessThanOrEqual(1000);
              paged.push(...page);
              pages++;
            }
            const listed: ListedObject[] = [];
            for await (const o of f.source.list(bucket, prefix, after)) listed.push(o);
            expect(paged, `${prefix} after ${after}`).toEqual(listed);
            expect(pages).toBe(Math.ceil(listed.length / 1000));
          }
        }
      } finally {
        await f.cleanup();
      }
    });
  });
}
