// One measured run of a bench program (bench/measure.mjs, native-c.py, native.mjs...): its
// JSON line of timings, shared by the bench's scripts.
import { run } from '../test/helpers/cli.ts';

/** What a measured program prints: its time, CPU time and peak memory. */
export interface Timing {
  ms: number;
  /** CPU time (user + system) of the work, when the program gives it: every thread's. */
  cpuMs?: number;
  /** ... its main thread's alone, where the system tells it. */
  mainCpuMs?: number;
  maxRssKB: number;
  status?: number;
  errors?: string;
}

/**
 * Run a measuring program and take its last line of output.
 * @param cmd - the program
 * @param args - its arguments
 * @param env - more environment
 * @returns its timings
 */
export async function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Timing> {
  // Without NODE_OPTIONS: tsx passes its loader on through it, which would weigh on every child's memory.
  const r = await run(cmd, args, { ...env, NODE_OPTIONS: undefined });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Timing;
  } catch {
    throw new Error(`${cmd} ${args.slice(0, 2).join(' ')} printed no result: ${r.stderr.slice(0, 400)}`);
  }
}

/** The median of some numbers (the upper one of an even count). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
