// The validate-logs process's young generations: the main thread's held at a few MiB while it
// works (V8 would grow it to 32 MiB as the run goes on, so that the peak memory of a run grew
// with its length), the threads' at their own size, from their start.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from './helpers/cli.js';
import { ROOT } from './helpers/tamper.js';
import { holdYoungGeneration, MAIN_SEMI_SPACE_MB } from '../src/cli/process.js';

/**
 * A process like a validation run, in a fresh node: it holds its young generation (argument
 * `hold`) or not, starts two threads with the pool's young generation (8 MiB), waits for them,
 * then allocates objects that live a while (a window of about 40,000 of them) over many turns of
 * its event loop, as the walk does. Prints the largest semi-space capacity its main thread had,
 * and each thread's at its start and after work of its own, in MiB.
 */
const SCRIPT = `
import { getHeapSpaceStatistics } from 'node:v8';
import { Worker } from 'node:worker_threads';
const { holdYoungGeneration } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'cli', 'process.js')).href)});
const capacity = () => { const s = getHeapSpaceStatistics().find((x) => x.space_name === 'new_space'); return (s.space_used_size + s.space_available_size) / 2 ** 20; };
const held = process.argv.at(-1) === 'hold' && holdYoungGeneration([], '');
const thread = \`
  const { getHeapSpaceStatistics } = require('node:v8');
  const { parentPort } = require('node:worker_threads');
  const capacity = () => { const s = getHeapSpaceStatistics().find((x) => x.space_name === 'new_space'); return (s.space_used_size + s.space_available_size) / 2 ** 20; };
  const start = capacity();
  let keep = [];
  for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 40000) keep = []; }
  parentPort.postMessage([start, capacity()]);
\`;
const threads = await Promise.all([0, 1].map(() => new Promise((resolve) => {
  const w = new Worker(thread, { eval: true, execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: 8 } });
  w.once('message', (m) => { resolve(m); w.terminate(); });
})));
let largest = capacity();
let keep = [];
for (let turn = 0; turn < 300; turn++) {
  for (let i = 0; i < 5000; i++) keep.push({ turn, i, s: 'y' + i });
  if (keep.length > 40000) keep = keep.slice(-20000);
  await new Promise((r) => setImmediate(r));
  largest = Math.max(largest, capacity());
}
process.stdout.write(JSON.stringify({ held, main: largest, threads }));
`;

/** Run {@link SCRIPT}: whether it held its young generation, the main thread's largest semi-space, the threads' at start and end (MiB). */
async function youngGenerations(hold: boolean): Promise<{ held: boolean; main: number; threads: Array<[number, number]> }> {
  const r = await run(process.execPath, ['--input-type=module', '-e', SCRIPT, hold ? 'hold' : 'free'], { NODE_OPTIONS: '' });
  expect(r).toMatchObject({ status: 0, stderr: '' });
  return JSON.parse(r.stdout) as { held: boolean; main: number; threads: Array<[number, number]> };
}

describe("the validate-logs process's young generations", () => {
  it('leaves them as they are when node was started with flags that size them (and sets nothing then)', () => {
    expect(holdYoungGeneration(['--max-semi-space-size=8'], '')).toBe(false);
    expect(holdYoungGeneration(['--semi_space_growth_factor', '3'], '')).toBe(false);
    expect(holdYoungGeneration([], '--max-old-space-size=100 --min-semi-space-size=4')).toBe(false);
  });

  it("holds the main thread's at its size while threads start and work, and starts the threads' at theirs", async () => {
    const [free, held] = await Promise.all([youngGenerations(false), youngGenerations(true)]);
    // Left alone, V8 grows the main thread's under this work well past the size held (to 16 MiB).
    expect(free.held).toBe(false);
    expect(free.main).toBeGreaterThan(4 * MAIN_SEMI_SPACE_MB);
    expect(held.held).toBe(true);
    expect(held.main).toBeLessThanOrEqual(MAIN_SEMI_SPACE_MB);
    expect(held.main).toBeGreaterThan(MAIN_SEMI_SPACE_MB / 2);
    // A thread with an 8 MiB young generation has 4 MiB semi-spaces: grown to them when left
    // alone, had from its start when held (never held smaller by the main thread's hold).
    for (const [, end] of free.threads) expect(end).toBeGreaterThan(3);
    for (const [start, end] of held.threads) {
      expect(start).toBeGreaterThan(3);
      expect(end).toBe(start);
    }
  });
});
