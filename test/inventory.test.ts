import { describe, expect, it } from 'vitest';
import { LogInventory, logKey, logKeyTime, type ObjectSource } from './helpers/lib.js';

const trail = { accountId: '111122223333', region: 'eu-west-1', trailName: 't', prefix: 'p' };
const T = Date.UTC(2025, 0, 31, 23, 0);

function source(keys: string[]): ObjectSource {
  return {
    async *list(_b, prefix, after) {
      for (const key of [...keys].sort()) if (key.startsWith(prefix) && (after === undefined || key > after)) yield { key };
    },
    get: async () => undefined,
  };
}

describe('the compact log inventory', () => {
  const uniques = ['AAAAAAAAAAAAAAAA', 'zzzzzzzzzzzzzzzz', '0123456789abcdef', 'AAAAAAAAzzzzzzzz', 'AAAAAAAA00000000'];
  const keys = uniques.map((u, i) => logKey(trail, new Date(T + i * 20 * 60_000), u));

  it('rebuilds every key exactly, in time order, and counts by time', async () => {
    const inv = await LogInventory.load(source([...keys, 'p/AWSLogs/111122223333/CloudTrail/eu-west-1/2025/01/31/other.json.gz']), 'b', trail, 0, Number.POSITIVE_INFINITY);
    expect(inv.size).toBe(5);
    expect(Array.from({ length: inv.size }, (_, i) => inv.keyAt(i))).toEqual(keys);
    expect(inv.count(T, T + 40 * 60_000)).toBe(2);
    expect(inv.indexOf(T + 61 * 60_000)).toBe(4);
    expect(logKeyTime(keys[1]!)).toBe(T + 20 * 60_000);
  });

  it('marks exactly the listed key, even when the first half of the unique part is shared', async () => {
    const inv = await LogInventory.load(source(keys), 'b', trail, 0, Number.POSITIVE_INFINITY);
    inv.mark(keys[3]!);
    inv.mark(keys[0]!.replace('AAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAB')); // not in storage
    inv.mark('not a key');
    expect(Array.from({ length: inv.size }, (_, i) => inv.listed(i))).toEqual([false, false, false, true, false]);
  });

  it('extends the listing after the last log of its window, without listing the day again, keeping its odd entries once', async () => {
    // Many logs on one day, an odd entry among them; the range ends at the day's end, then the tail is listed.
    const day = Date.UTC(2025, 2, 2);
    const busy = Array.from({ length: 50 }, (_, i) => logKey(trail, new Date(day + i * 5 * 60_000), `A${String(i).padStart(15, '0')}`));
    const later = [logKey(trail, new Date(day + 30 * 3_600_000), 'BBBBBBBBBBBBBBBB'), logKey(trail, new Date(day + 30 * 3_600_000 + 60_000), 'CCCCCCCCCCCCCCCC')];
    const odd = 'p/AWSLogs/111122223333/CloudTrail/eu-west-1/2025/03/02/zz-odd.json.gz';
    const all = [...busy, odd, ...later];
    const yielded: string[] = [];
    const counting: ObjectSource = {
      async *list(b, prefix, after) {
        for await (const e of source(all).list(b, prefix, after)) {
          yielded.push(e.key);
          yield e;
        }
      },
      get: async () => undefined,
    };
    const inv = await LogInventory.load(counting, 'b', trail, day, day + 4 * 3_600_000);
    expect(inv.size).toBe(4 * 12 + 1);
    yielded.length = 0;
    await inv.extend(counting, 'b', day, Number.POSITIVE_INFINITY);
    // Only what comes after the last log of the first window: not the 49 logs held already.
    expect(yielded).toEqual([busy[49], odd, ...later]);
    expect(inv.size).toBe(busy.length + later.length);
    expect(Array.from({ length: inv.size }, (_, i) => inv.keyAt(i))).toEqual([...busy, ...later]);
    expect(inv.odd.map((o) => o.key)).toEqual([odd]);
  });

  it('holds more logs than one piece of its columns (16,384): every key, time, mark and count across the pieces', async () => {
    // Logs a minute apart, several of them in the same minute at the pieces' edges.
    const n = 40_000;
    const t0 = Date.UTC(2025, 3, 1);
    const times = Array.from({ length: n }, (_, i) => t0 + Math.floor(i / 3) * 60_000);
    const many = times.map((t, i) => logKey(trail, new Date(t), `L${String(i).padStart(15, '0')}`));
    const inv = await LogInventory.load(source(many), 'b', trail, 0, Number.POSITIVE_INFINITY);
    expect(inv.size).toBe(n);
    for (const i of [0, 16_383, 16_384, 16_385, 32_767, 32_768, n - 1]) {
      expect(inv.keyAt(i)).toBe(many[i]);
      expect(inv.timeAt(i)).toBe(times[i]);
    }
    expect(Array.from({ length: n }, (_, i) => inv.keyAt(i))).toEqual(many);
    for (const i of [16_382, 16_384, 32_769, n - 1]) expect(inv.mark(many[i]!)).toBe('first');
    expect(inv.mark(many[16_384]!)).toBe('again');
    expect(inv.mark(logKey(trail, new Date(times[16_384]!), 'Lzzzzzzzzzzzzzzz'))).toBe('absent');
    expect(Array.from({ length: n }, (_, i) => (inv.listed(i) ? i : -1)).filter((i) => i >= 0)).toEqual([16_382, 16_384, 32_769, n - 1]);
    expect(inv.indexOf(times[16_384]!)).toBe(16_383); // (16,383 to 16,385 share a minute)
    expect(inv.count(times[16_383]!, times[32_768]! + 60_000)).toBe(32_769 - 16_383); // (32,768 is the second of its minute)
  });

  it('holds every time a key may name (years 100 to 9999, before 1970 and past 2^32 minutes after it) and every unique part, in 17 bytes a log', async () => {
    // The time is held in 33 bits of minutes (the 33rd from 8094-08-05T03:12Z), each half of the unique part in 48: the edges of each.
    const times = [Date.UTC(100, 0, 1), Date.UTC(1969, 11, 31, 23, 59), Date.UTC(1970, 0, 1), Date.UTC(2025, 0, 1), Date.UTC(8094, 7, 5, 3, 11), Date.UTC(8094, 7, 5, 3, 12), Date.UTC(9999, 11, 31, 23, 59)];
    const edges = ['0000000000000000', '0000000zzzzzzzz0', 'zzzzzzz00000000z', 'zzzzzzzzzzzzzzzz']; // (in key order)
    const all = times.flatMap((t) => edges.map((u) => logKey(trail, new Date(t), u)));
    const inv = await LogInventory.load(source(all), 'b', trail, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
    expect(inv.size).toBe(all.length);
    expect(Array.from({ length: inv.size }, (_, i) => inv.keyAt(i))).toEqual(all);
    expect(Array.from({ length: inv.size }, (_, i) => inv.timeAt(i))).toEqual(times.flatMap((t) => edges.map(() => t)));
    for (const t of times) expect(inv.count(t, t + 60_000)).toBe(edges.length);
    // Marks never touch the time's 33rd bit held beside them, nor it the marks.
    for (let i = 0; i < all.length; i += 2) expect(inv.mark(all[i]!, 2)).toBe('first');
    expect(inv.mark(logKey(trail, new Date(times[6]!), 'zzzzzzzzzzzzzzzy'))).toBe('absent');
    expect(Array.from({ length: inv.size }, (_, i) => inv.listed(i))).toEqual(all.map((_, i) => i % 2 === 0));
    expect(Array.from({ length: inv.size }, (_, i) => inv.keyAt(i))).toEqual(all);
    expect(inv.mark(all[all.length - 2]!, 2)).toBe('again');
    expect(inv.mark(all[all.length - 2]!, 1)).toBe('first');
  });

  it('takes the listing window from the times in the keys', async () => {
    const inv = await LogInventory.load(source(keys), 'b', trail, T + 10 * 60_000, T + 50 * 60_000);
    expect(inv.size).toBe(2);
  });
});
