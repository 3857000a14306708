// The JSON document's writer: findings go to standard output in chunks, not one write each, and
// the document is the same text as one written finding by finding.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { JsonReport } from '../src/cli/json.js';
import { judgeRegions } from '../src/chain/report.js';
import type { Finding } from '../src/chain/findings.js';
import { validLogFinding } from '../src/chain/log-verdict.js';

function sink(): { stream: Writable; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write: (c: Buffer, _e, cb) => {
      writes.push(c.toString());
      cb();
    },
  });
  return { stream, writes };
}

const valid = (i: number): Finding => validLogFinding('b', `AWSLogs/k${i}.json.gz`, { backfill: false, digest: 's3://b/AWSLogs/d.json.gz' }, i);

describe('JsonReport', () => {
  it('writes many findings in a few chunks, the document whole and in order', async () => {
    const { stream, writes } = sink();
    const report = new JsonReport(stream, '0.0.0');
    await report.begin(null);
    const n = 5000;
    for (let i = 0; i < n; i++) await report.finding('us-east-1', valid(i));
    await report.end(judgeRegions([]));
    // One write per finding before: 5,000 findings of about 200 characters are a few dozen chunks.
    expect(writes.length).toBeLessThan(n / 50);
    const doc = JSON.parse(writes.join('')) as { findings: Finding[] };
    expect(doc.findings.map((f) => f.size)).toEqual(Array.from({ length: n }, (_, i) => i));
    // The same text as the findings written one by one, a line each.
    const head = `{"tool":"validate-logs","version":"0.0.0","request":null,"findings":[`;
    expect(writes.join('').startsWith(head + '\n' + JSON.stringify(valid(0)) + ',\n' + JSON.stringify(valid(1)) + ',\n')).toBe(true);
  });

  it('gathers a finding with no promise; only a write that waits for a slow stdout is one, and the document stays whole and in order', async () => {
    const writes: string[] = [];
    // A stdout that is full after each write and drains a turn later.
    const slow = new Writable({
      highWaterMark: 1,
      write: (c: Buffer, _e, cb) => {
        writes.push(c.toString());
        setImmediate(cb);
      },
    });
    const report = new JsonReport(slow, '0.0.0');
    await report.begin(null);
    const n = 5000;
    let promises = 0;
    for (let i = 0; i < n; i++) {
      const written = report.finding('us-east-1', valid(i));
      if (written) {
        promises++;
        await written;
      }
    }
    await report.end(judgeRegions([]));
    expect(promises).toBeGreaterThan(0);
    expect(promises).toBeLessThan(n / 50);
    const doc = JSON.parse(writes.join('')) as { findings: Finding[] };
    expect(doc.findings.map((f) => f.size)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('writes the findings gathered when the run ends early, then the tail', async () => {
    const { stream, writes } = sink();
    const report = new JsonReport(stream, '0.0.0');
    await report.begin(null);
    await report.finding('us-east-1', valid(7));
    expect(writes.join('')).not.toContain('"size":7'); // gathered, not written yet
    await report.end(judgeRegions([]), { error: { code: 'INTERNAL', message: 'stopped' } });
    const doc = JSON.parse(writes.join('')) as { findings: Finding[]; error: { message: string } };
    expect(doc.findings).toEqual([valid(7)]);
    expect(doc.error.message).toBe('stopped');
  });
});
