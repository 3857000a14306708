// A watcher's history for the period report's tests, written through the real state store (the
// watcher itself is issue 26's): what its passes would have appended.
import { openStateStore } from '../../src/watch/store.js';
import type { PassRecord } from '../../src/watch/types.js';

/** A watcher's history written into a real state store: passes every 5 minutes over 8 hours, two regions, a watcher down 05:00-06:00, a tampered log found at 03:00, one digest never verified. */
export async function writeHistory(dir: string): Promise<void> {
  const store = openStateStore(dir);
  const H = 3_600_000;
  const M = 60_000;
  const T0 = Date.parse('2026-12-01T00:00:00Z');
  const at = (ms: number): string => new Date(ms).toISOString();
  let pass = 0;
  let next = T0 - 24 * H + 21 * M;
  for (let time = T0; time <= T0 + 8 * H; time += 5 * M) {
    if (time > T0 + 5 * H && time < T0 + 6 * H) continue;
    const verified: Array<{ start: string; end: string; delivered: string }> = [];
    for (; next + H + 10 * M <= time; next += H) verified.push({ start: at(next), end: at(next + H), delivered: at(next + H + 10 * M) });
    const bad = time === T0 + 3 * H;
    const chains = ['eu-west-1', 'us-east-1'].map((region) => ({
      region,
      digests: verified.length,
      logs: 4 * verified.length,
      invalid: bad && region === 'us-east-1' ? 1 : 0,
      notices: 0,
      byCode: bad && region === 'us-east-1' ? { LOG_HASH_MISMATCH: 1 } : {},
      verified: verified.filter((d) => region !== 'eu-west-1' || d.start !== '2026-12-01T01:21:00.000Z').map((d) => ({ key: `AWSLogs/111122223333/CloudTrail-Digest/${region}/${d.start}.json.gz`, ...d })),
    }));
    await store.appendHistory({
      format: 'validate-logs-watch-pass/1',
      pass: ++pass,
      startedAt: at(time),
      endedAt: at(time + 4000),
      status: bad ? 'invalid' : 'valid',
      range: { start: at(T0 - 24 * H), end: at(time) },
      chains,
      alerts: bad ? ['5f2b9c0e8a7d4c1b9e3f6a2d8c4b7e10'] : [],
      intervalMs: 5 * M,
    } as PassRecord);
  }
}

