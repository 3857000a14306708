/**
 * What a command needs from its process, passed in so that commands are plain functions
 * (tested in-process and end to end), and one error type for usage and environment mistakes.
 * @module
 */
import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { homedir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { ValidateLogsError } from '../errors.js';
import { parseUserTime } from '../format/time.js';
import { createNodePlatform, nodePlatform } from '../parallel/node.js';
import type { PooledPlatform } from '../chain/offload.js';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { AwsHttpOptions } from '../sources/http.js';
import { GLOBAL_OPTIONS, readGlobalFlags } from './global.js';
import { UsageError } from './usage-error.js';

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
  /** With `--debug`: writes one diagnostic line on stderr (set by {@link defineCommand}). */
  debug?: (line: string) => void;
}

/** The process's own streams and environment. */
export function processIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, now: () => new Date() };
}

export { UsageError };

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
 * Wait for `work`, or stop waiting when `signal` aborts (rejecting with its reason): a run
 * stopped from outside ends at once, even while a read is in flight.
 * @param work - what to wait for
 * @param signal - the stop signal, if any
 * @returns what `work` resolves to
 */
export function untilStopped<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const stopped = (): void => reject(signal.reason);
    if (signal.aborted) stopped();
    signal.addEventListener('abort', stopped, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', stopped);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', stopped);
        reject(e);
      },
    );
  });
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

type OptionTable = NonNullable<ParseArgsConfig['options']>;

/**
 * Parse flags strictly: unknown flags, missing values and stray arguments are usage errors.
 * @param argv - the arguments
 * @param options - the option table
 * @returns the parsed values
 * @throws UsageError
 */
export function parseFlags<const T extends OptionTable>(
  argv: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>['values'] {
  return parseCommandLine(argv, options, false).values;
}

/**
 * {@link parseFlags}, with arguments that are not flags (`merge REPORT...`) when `positionals` is true.
 * @param argv - the arguments
 * @param options - the option table
 * @param positionals - whether stray arguments are allowed
 * @returns the parsed values and the other arguments
 * @throws UsageError
 */
export function parseCommandLine<const T extends OptionTable>(
  argv: string[],
  options: T,
  positionals: boolean,
): { values: ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>['values']; positionals: string[] } {
  unknownFlag(argv, options);
  try {
    const r = parseArgs({ args: argv, options, strict: true, allowPositionals: positionals });
    return { values: r.values as ReturnType<typeof parseFlags<T>>, positionals: r.positionals };
  } catch (e) {
    throw new UsageError(`${e instanceof Error ? e.message : String(e)} (see --help)`);
  }
}

/**
 * Refuse the first flag not in the table, with the known flag it is likely a typo of.
 * @param argv - the arguments
 * @param options - the option table
 * @throws UsageError: `Unknown option '--trail-ar': did you mean --trail-arn? (see --help)`
 */
function unknownFlag(argv: string[], options: OptionTable): void {
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option' || Object.hasOwn(options, t.name)) continue;
    const near = t.rawName.startsWith('--') ? closestFlag(t.name, Object.keys(options)) : undefined;
    throw new UsageError(`Unknown option '${t.rawName}'${near ? `: did you mean --${near}?` : ''} (see --help)`);
  }
}

/**
 * The flag a mistyped name most likely meant: the one nearest by edit distance (a letter
 * added, dropped, changed, or two swapped), when it is near enough (1 edit for names up to 4
 * letters, 2 up to 8, 3 beyond) and no other flag is as near.
 * @param name - the name given, without dashes
 * @param known - the command's flags
 * @returns the flag, or undefined when none is close
 */
export function closestFlag(name: string, known: readonly string[]): string | undefined {
  const most = name.length <= 4 ? 1 : name.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = most + 1;
  let tie = false;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k);
    if (d < bestDistance) [best, bestDistance, tie] = [k, d, false];
    else if (d === bestDistance) tie = true;
  }
  return tie ? undefined : best;
}

/** The optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
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
 * Run a command when its module is the script node was started with (its bin), setting the
 * exit status; an unexpected exception is printed with its stack and exits 2.
 *
 * A `stoppable` command gets an abort signal: a reader of stdout that goes away (`| head`:
 * EPIPE), SIGINT and SIGTERM abort it (a second signal exits at once); the command ends its
 * output and returns, and the process exits without waiting for reads still in flight. Any
 * other command ends quietly when its reader goes away, and dies on a signal.
 * @param moduleUrl - the command module's `import.meta.url`
 * @param name - the command's name, for messages
 * @param command - the command
 * @param options - `stoppable`: stop the command through its signal instead of exiting at once;
 *   `smallHeaps`: {@link keepHeapsSmall}
 */
export function runIfMain(moduleUrl: string, name: string, command: (argv: string[], io: CommandIO) => Promise<number>, options: { stoppable?: boolean; smallHeaps?: boolean } = {}): void {
  const script = process.argv[1];
  if (script === undefined) return;
  let scriptUrl: string;
  try {
    scriptUrl = pathToFileURL(realpathSync(script)).href;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // not started from a file
    throw e;
  }
  if (scriptUrl !== moduleUrl) return;
  // The AWS SDK warns on stderr about Node versions it will drop; a command's stderr is for its own messages.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  useCompileCache();
  if (options.smallHeaps) keepHeapsSmall();
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

/**
 * Write to a stream, waiting for it to drain when its buffer is full (back-pressure), so a
 * slow reader never makes the output pile up in memory.
 * @param stream - the stream
 * @param text - the text
 */
export async function writeWithBackpressure(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (stream.write(text)) return;
  // Wait for room; a stream that fails or closes meanwhile (EPIPE) will never drain.
  await new Promise<void>((resolve, reject) => {
    const done = (e?: unknown): void => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', closed);
      if (e) reject(e instanceof Error ? e : new Error(String(e)));
      else resolve();
    };
    const closed = (): void => done(Object.assign(new Error('the stream was closed'), { code: 'EPIPE' }));
    stream.on('drain', done);
    stream.on('error', done);
    stream.on('close', closed);
  });
}

/** The flags parsed from an option table. */
export type Flags<T extends OptionTable> = ReturnType<typeof parseFlags<T>>;

/** What a command is: its name, help, options and body. */
export interface CommandSpec<T extends OptionTable> {
  /** Command name, the prefix of its error lines. */
  name: string;
  /** The `--help` text. */
  help: string;
  /** Its flags (`--help` and `--version` are added). */
  options: T;
  /** Whether it takes arguments that are not flags (given to `run` as `args`). */
  positionals?: boolean;
  /**
   * The command's work.
   * @param flags - the parsed flags
   * @param need - returns a required string flag, or throws the usage error naming it
   * @param io - streams, environment and clock
   * @param args - the arguments that are not flags (with `positionals`)
   * @returns the exit status
   */
  run(flags: Flags<T>, need: (flag: keyof T & string) => string, io: CommandIO, args: string[]): Promise<number>;
  /**
   * Optional: true when the flags name a run that reaches no AWS endpoint (see
   * {@link readGlobalFlags}'s `offline`); judged conservatively, as a wrong true loses the named
   * refusal of a certificate in `AWS_CA_BUNDLE` that does not parse (TLS skips it silently).
   * @param flags - the parsed flags
   */
  offline?(flags: Flags<T>): boolean;
  /**
   * Optional: called with whatever stopped the run (a usage or data error, a {@link StopError},
   * an unexpected exception), before its line on stderr, to end the command's output properly.
   * @param error - what was thrown
   * @param argv - the arguments
   * @param io - streams, environment and clock
   */
  failed?(error: unknown, argv: string[], io: CommandIO): Promise<void>;
}

const HELP_AND_VERSION = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } } as const;

/** The flags every command has: `--help`, `--version`, and the AWS CLI's global options. */
export const COMMON_OPTIONS: typeof HELP_AND_VERSION & typeof GLOBAL_OPTIONS = { ...HELP_AND_VERSION, ...GLOBAL_OPTIONS };

/**
 * Make a command: strict flags, `--help`, `--version`, and every usage or data error (or a
 * stop from outside) turned into one line on stderr and exit status 2.
 * @param spec - the command
 * @returns the command as a function of its arguments
 */
export function defineCommand<T extends OptionTable>(spec: CommandSpec<T>): (argv: string[], io?: CommandIO) => Promise<number> {
  return async (argv, io = processIO()) => {
    try {
      const parsed = parseCommandLine(argv, { ...spec.options, ...COMMON_OPTIONS }, spec.positionals === true);
      const flags = parsed.values as Record<string, unknown>;
      if (flags.help) {
        await write(io.stdout, spec.help);
        return 0;
      }
      if (flags.version) {
        await write(io.stdout, `${packageVersion()}\n`);
        return 0;
      }
      const global = await readGlobalFlags(flags, io.env, (line) => void io.stderr.write(`${spec.name}: ${line}\n`), spec.offline?.(flags as unknown as Flags<T>) ?? false);
      io = { ...io, http: global.http, ...(global.debug && { debug: global.debug }) };
      const need = (flag: keyof T & string): string => {
        const v = flags[flag];
        if (typeof v !== 'string' || v === '') throw new UsageError(`--${flag} is required (see --help)`);
        return v;
      };
      const status = await spec.run(flags as unknown as Flags<T>, need, io, parsed.positionals);
      io.debug?.(`exit status ${status}`);
      return status;
    } catch (e) {
      const stopped = e instanceof StopError ? e : (io.signal?.aborted && io.signal.reason instanceof StopError ? io.signal.reason : undefined);
      const error = stopped ?? e;
      await spec.failed?.(error, argv, io);
      if (error instanceof UsageError || error instanceof ValidateLogsError || error instanceof StopError) {
        await write(io.stderr, `${spec.name}: error: ${error.message}\n`);
        return 2;
      }
      throw e;
    }
  };
}

/**
 * A time flag as the AWS CLI accepts it, or a usage error naming the flag.
 * @param text - the flag's value
 * @param flag - the flag's name, with dashes
 * @returns the time
 * @throws UsageError
 */
export function timeFlag(text: string, flag: string): Date {
  try {
    return parseUserTime(text, flag);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * `--concurrency`: objects read from storage at once.
 * @param text - the flag's value
 * @returns the number, from 1 to 1024
 * @throws UsageError
 */
export function concurrencyFlag(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 1024) throw new UsageError(`--concurrency must be a whole number from 1 to 1024, not ${JSON.stringify(text)}`);
  return n;
}

/** Platforms made for `--threads` values, one per size: a command that reads the flag twice (to start the threads early) gets the same pool. */
const sized = new Map<number, PooledPlatform>();

/**
 * `--threads`: the Node platform with a pool of that many hashing threads.
 * @param text - the flag's value; the default (every available core) when undefined
 * @param warm - start the threads now, while the command reads its other inputs (they take tens of milliseconds to start)
 * @returns the platform (the same one for the same value)
 * @throws UsageError
 */
export function threadsFlag(text: string | undefined, warm = false): PooledPlatform {
  let platform = nodePlatform;
  if (text !== undefined) {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n > 1024) throw new UsageError(`--threads must be a whole number from 0 to 1024, not ${JSON.stringify(text)}`);
    platform = sized.get(n) ?? createNodePlatform({ threads: n });
    sized.set(n, platform);
  }
  if (warm) platform.offload?.warm();
  return platform;
}
