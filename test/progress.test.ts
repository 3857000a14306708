import { describe, expect, it } from 'vitest';
import { Progress, progressWanted } from '../src/cli/progress.js';

describe('progress line', () => {
  it('shows only on a terminal, outside CI', () => {
    expect(progressWanted({ isTTY: true }, {})).toBe(true);
    expect(progressWanted({ isTTY: false }, {})).toBe(false);
    expect(progressWanted({}, {})).toBe(false);
    expect(progressWanted({ isTTY: true }, { CI: 'true' })).toBe(false);
    expect(progressWanted({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });

  it('draws objects, bytes, rate and ETA after the first second, at most four times a second, and erases itself', () => {
    let t = 0;
    let out = '';
    const p = new Progress((s) => (out += s), true, () => t);
    p.digestsTotal = 10;
    p.tick();
    expect(out).toBe('');
    t = 2000;
    p.objects = 40;
    p.bytes = 8_000_000;
    p.digestsDone = 4;
    p.tick();
    expect(out).toBe('\r\x1b[K40 objects, 8.0 MB, 4.0 MB/s, digest 4/10, ETA 3s');
    out = '';
    t = 2100;
    p.tick();
    expect(out).toBe('');
    p.clear();
    expect(out).toBe('\r\x1b[K');
    out = '';
    p.clear();
    expect(out).toBe('');
  });

  it('draws nothing when disabled', () => {
    let out = '';
    let t = 0;
    const p = new Progress((s) => (out += s), false, () => t);
    t = 5000;
    p.tick();
    p.clear();
    expect(out).toBe('');
  });
});
