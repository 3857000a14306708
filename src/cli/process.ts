/**
 * What a command needs from its process (its streams, environment, clock and stop signal) and
 * running a program in it: exit status, stops from outside, the V8 settings and compile cache
 * the programs set for themselves, the package's version. Node.js's own modules only, so that
 * the programs' launchers answer `--version` and `--help` without loading a command.
 * @module
 */
import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { homedir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import type { AwsHttpOptions } from '../sources/http.js';

/** The streams and environment of a command run. */
export interface CommandIO {
  /** Standard output. */
  stdout: NodeJS.WritableStream;
  /** Standard error. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Environment variables. */
  env: NodeJS.ProcessEnv;
  /** The current time (a fixed clock in tests). */
  now: () => Date;
  /** Aborted when the run must stop (a signal, stdout closed); its reason is a {@link StopError}. */
  signal?: AbortSignal;
  /** How the AWS clients connect (the AWS CLI's global options; set by {@link defineCommand}). */
  http?: AwsHttpOptions;
  /** With `--debug`: writes one diagnostic line on stderr (set by the command's definition, `defineCommand`). */
  debug?: (line: string) => void;
}

/** The process's own streams and environment. */
export function processIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, now: () => new Date() };
}

/** Why a run was stopped from outside. */
export type StopCode = 'SIGINT' | 'SIGTERM' | 'EPIPE';

/**
 * The run was stopped from outside before its end: a signal (SIGINT, SIGTERM), or its standard
 * output closed (EPIPE). The command ends its output properly, says so in one line and exits
 * with status 2.
 */
export class StopError extends Error {
  override readonly name: string = 'StopError';
  /** What stopped the run. */
  readonly code: StopCode;

  /**
   * @param code - what stopped the run
   */
  constructor(code: StopCode) {
    super(code === 'EPIPE' ? 'standard output was closed (EPIPE): the run stopped before its end' : `interrupted by ${code}: the run stopped before its end`);
    this.code = code;
  }
}

/**
 * What stopped a command that threw `e`: `e` itself when it is a {@link StopError}, or else the
 * stop signal's reason when the command was stopped from outside (what it threw then follows
 * from the stop, such as a write to a closed standard output).
 * @param e - what the command threw
 * @param signal - the command's stop signal, if any
 * @returns the stop, or undefined when the command was not stopped
 */
export function stoppedBy(e: unknown, signal: AbortSignal | undefined): StopError | undefined {
  if (e instanceof StopError) return e;
  return signal?.aborted && signal.reason instanceof StopError ? signal.reason : undefined;
}

/** The package version, from package.json. */
export function packageVersion(): string {
  const require = nodeModule.createRequire(import.meta.url);
  return (require('../../package.json') as { version: string }).version;
}

/**
 * Write all of `text` and wait until the stream has taken it (so exit codes never cut output).
 * @param stream - the stream
 * @param text - the text
 */
export function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (text.length === 0) return resolve();
    stream.write(text, (e) => (e ? reject(e) : resolve()));
  });
}

/** The heap growing factor a validating process sets for itself: 1 + 30/100. */
export const HEAP_GROWING_PERCENT = 30;

/**
 * Keep this process's heaps near their live data. After each full collection V8 lets a heap
 * grow to a multiple of what survived it before collecting again, and the multiple is up to 4
 * where the heap may grow large (a machine with several GB). A validation run keeps little (its
 * inventory, the digests being checked) and allocates much that soon dies, so most of a heap
 * four times its live data holds garbage: with 1.3, the peak memory of a run over 100,000 logs
 * is about 45 MB lower in the same time (`npm run bench`). V8 reads the factor whenever a full
 * collection sets the next limit, so setting it at run time takes effect; the flag is the
 * process's, so the pool's threads have it too. A factor given on node's own command line or in
 * `NODE_OPTIONS` is left as it is.
 * Called by the `validate-logs` program, never by the library: a process's V8 flags belong to
 * whoever started it.
 * @param execArgv - node's own command line (`process.execArgv`)
 * @param nodeOptions - `NODE_OPTIONS`
 * @returns whether the factor was set
 */
export function keepHeapsSmall(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): boolean {
  if ([...execArgv, ...nodeOptions.split(/\s+/)].some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}

/**
 * The semi-space size, in MiB, at which a validating process holds its main thread's young
 * generation (V8 lets it grow to 16 MiB: 32 MiB of young generation).
 */
export const MAIN_SEMI_SPACE_MB = 2;

/** Node's flags that size a young generation: given by whoever started node, they are left as they are. */
const YOUNG_GENERATION_FLAG = /^--(?:max|min)[-_]semi[-_]space[-_]size(?:=|$)|^--semi[-_]space[-_]growth[-_]factor(?:=|$)/;

/**
 * Hold this process's young generations where they are useful. V8 doubles a young generation
 * (1, 2, 4, 8, then 16 MiB semi-spaces) each time enough survives its scavenges, and never
 * shrinks it while the thread is busy; the main thread of a validation run keeps growing its
 * own for seconds (to 32 MiB), so a run's peak memory grew with its length, though what it keeps
 * does not. Holding the main thread's at {@link MAIN_SEMI_SPACE_MB} costs it more scavenges of
 * little each (its garbage is short-lived): at 100,000 logs, peak RSS 128 against 169 MB, CPU
 * time the same within the noise (`bench/many.ts`, 5 rounds alternating); with the inventory
 * grown in pieces, peak RSS at 25,000, 50,000, 100,000 and 200,000 logs 114-119, 120-125,
 * 124-129 and 133-138 MB against 126-130, 146-148, 156-157 and 168-172 without it
 * (`bench/memory.ts`, 3 rounds alternating): a doubling of the logs adds at most 7 % (14 %
 * without), 200,000 logs peak at 1.09-1.12 times 50,000's.
 *
 * How: a young generation's largest size is fixed when its isolate starts, the main thread's
 * before any code runs; what V8 reads at each growth is the process's growth factor
 * (`--semi-space-growth-factor`), which is set to 1 (no growth) once the main thread's reaches
 * the size, and again after each garbage collection of the main thread and each thread coming
 * online (starting an isolate sets a factor under 2 back to 2). The pool's threads start at the
 * largest young generation they are given (`--min-semi-space-size`, which each isolate caps at
 * its own largest), so the factor never holds them smaller. Flags that size a young generation
 * given on node's command line or in `NODE_OPTIONS` are left as they are, and nothing is set.
 * Called by the `validate-logs` program, never by the library: a process's V8 flags belong to
 * whoever started it.
 * @param execArgv - node's own command line (`process.execArgv`)
 * @param nodeOptions - `NODE_OPTIONS`
 * @param semiSpaceMb - the size (a power of two, MiB)
 * @returns whether the young generation is held
 */
export function holdYoungGeneration(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? '', semiSpaceMb: number = MAIN_SEMI_SPACE_MB): boolean {
  if ([...execArgv, ...nodeOptions.split(/\s+/)].some((a) => YOUNG_GENERATION_FLAG.test(a))) return false;
  setFlagsFromString('--min-semi-space-size=1024');
  // A semi-space's capacity is a little under its size: reached at three quarters of it (the sizes go by doubling).
  const reached = semiSpaceMb * 0.75 * 2 ** 20;
  const hold = (): void => {
    const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    const grow = young !== undefined && young.space_used_size + young.space_available_size < reached;
    setFlagsFromString(`--semi-space-growth-factor=${grow ? 2 : 1}`);
  };
  hold();
  // (The global, loaded only here: a launcher answering --version loads none of it.)
  new PerformanceObserver(hold).observe({ entryTypes: ['gc'] });
  process.on('worker', (worker: NodeWorker) => worker.once('online', hold));
  return true;
}

/** What {@link holdYoungGeneration} needs of a `node:worker_threads` Worker. */
interface NodeWorker {
  once(event: 'online', listener: () => void): unknown;
}

/** What {@link useCompileCache} needs of `node:module`: `enableCompileCache` where the runtime has it (Node.js 22.1 and later). */
interface CompileCacheModule {
  enableCompileCache?: (dir?: string) => { status: number; message?: string; directory?: string };
}

/**
 * The folder of the program's module compile cache: `validate-logs/compile-cache` in the user's
 * cache folder (`XDG_CACHE_HOME`, or `~/.cache`), created if need be, or undefined when it is not
 * a safe place: every folder from the home folder down to it must be a real folder (no link)
 * owned by this process's user and writable by no one else, so that no other user can put
 * compiled code where this process loads it (never the shared temporary folder, Node's default).
 * @param env - the environment (`XDG_CACHE_HOME`)
 * @param home - the user's home folder
 * @param uid - this process's user id
 * @returns the folder, or undefined
 */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir(), uid: number | undefined = process.getuid?.()): string | undefined {
  if (uid === undefined || home === '' || !home.startsWith(sep)) return undefined;
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && xdg.startsWith(sep) && !relative(home, xdg).startsWith('..') ? xdg : join(home, '.cache');
  const dir = join(base, 'validate-logs', 'compile-cache');
  const safe = (d: string): boolean => {
    const st = lstatSync(d, { throwIfNoEntry: false });
    return st !== undefined && st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
  };
  if (!safe(home)) return undefined;
  // Each folder below home: made (private) when absent, then checked.
  let at = home;
  for (const part of relative(home, dir).split(sep)) {
    at = join(at, part);
    try {
      mkdirSync(at, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
    }
    if (!safe(at)) return undefined;
  }
  return dir;
}

/**
 * Keep the V8 code of the modules this process compiles from now on (the ones a run loads as it
 * goes: the AWS SDK, the checkpoint code, the subcommands) in the module compile cache, where
 * the runtime has one (`module.enableCompileCache`, Node.js 22.1 and later; nothing elsewhere),
 * in {@link compileCacheDir}. Never fails a run: a cache that cannot be used is no cache. A
 * cache the user set up (`NODE_COMPILE_CACHE`) or turned off (`NODE_DISABLE_COMPILE_CACHE`) is
 * left as it is.
 * @param env - the environment
 * @returns whether the cache was turned on here
 */
export function useCompileCache(env: NodeJS.ProcessEnv = process.env): boolean {
  const enable = (nodeModule as CompileCacheModule).enableCompileCache;
  if (typeof enable !== 'function' || env.NODE_COMPILE_CACHE !== undefined || env.NODE_DISABLE_COMPILE_CACHE !== undefined) return false;
  try {
    const dir = compileCacheDir(env);
    if (dir === undefined) return false;
    return enable(dir).status === (nodeModule as { constants?: { compileCacheStatus?: { ENABLED?: number } } }).constants?.compileCacheStatus?.ENABLED;
  } catch {
    return false;
  }
}

/**
 * Run a command when its module is the script node was started with (its bin): see
 * {@link runProgram}.
 * @param moduleUrl - the command module's `import.meta.url`
 * @param name - the command's name, for messages
 * @param command - the command
 * @param options - as {@link runProgram} takes them
 */
export function runIfMain(moduleUrl: string, name: string, command: (argv: string[], io: CommandIO) => Promise<number>, options: ProgramOptions = {}): void {
  const script = process.argv[1];
  if (script === undefined) return;
  let scriptUrl: string;
  try {
    scriptUrl = pathToFileURL(realpathSync(script)).href;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // not started from a file
    throw e;
  }
  if (scriptUrl === moduleUrl) runProgram(name, command, options);
}

/** How {@link runProgram} runs a command. */
export interface ProgramOptions {
  /** Stop the command through its abort signal (SIGINT, SIGTERM, EPIPE) instead of exiting at once. */
  stoppable?: boolean;
  /** Set {@link keepHeapsSmall} and {@link holdYoungGeneration}. */
  smallHeaps?: boolean;
}

/**
 * Run a command as this process's program, with the process's arguments, setting the exit
 * status; an unexpected exception is printed with its stack and exits 2.
 *
 * A `stoppable` command gets an abort signal: a reader of stdout that goes away (`| head`:
 * EPIPE), SIGINT and SIGTERM abort it (a second signal exits at once); the command ends its
 * output and returns, and the process exits without waiting for reads still in flight. Any
 * other command ends quietly when its reader goes away, and dies on a signal.
 * @param name - the command's name, for messages
 * @param command - the command
 * @param options - `stoppable`: stop the command through its signal instead of exiting at once;
 *   `smallHeaps`: {@link keepHeapsSmall} and {@link holdYoungGeneration}
 */
export function runProgram(name: string, command: (argv: string[], io: CommandIO) => Promise<number>, options: ProgramOptions = {}): void {
  // The AWS SDK warns on stderr about Node versions it will drop; a command's stderr is for its own messages.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  useCompileCache();
  if (options.smallHeaps) {
    keepHeapsSmall();
    holdYoungGeneration();
  }
  const controller = new AbortController();
  const stop = (code: StopCode): void => {
    if (!controller.signal.aborted) controller.abort(new StopError(code));
    else if (code !== 'EPIPE') process.exit(2);
  };
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      // Nowhere left to say anything, or a command that cannot stop midway: end quietly (a run
      // cut short never with status 0).
      if (stream === process.stderr || !options.stoppable) process.exit(process.exitCode ?? (options.stoppable ? 2 : 0));
      stop('EPIPE');
    });
  }
  if (options.stoppable) for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => stop(sig));
  command(process.argv.slice(2), { ...processIO(), signal: controller.signal }).then(
    (code) => {
      process.exitCode = code;
      // Stopped: reads still in flight must not keep the process alive (stdout and stderr are written synchronously to files and pipes).
      if (controller.signal.aborted) process.exit(code);
    },
    (e: unknown) => {
      process.stderr.write(`${name}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 2;
      if (controller.signal.aborted) process.exit(2);
    },
  );
}
