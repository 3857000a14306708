/**
 * What a command needs from its process, passed in so that commands are plain functions
 * (tested in-process and end to end), and one error type for usage and environment mistakes.
 * @module
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { ValidateLogsError } from '../errors.js';
import { parseUserTime } from '../format/time.js';
import { parseArgs, type ParseArgsConfig } from 'node:util';

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
}

/** The process's own streams and environment. */
export function processIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, now: () => new Date() };
}

/**
 * A mistake the user can fix: a bad flag, a missing file, a malformed key file. The command
 * prints its message as one line and exits with status 2.
 */
export class UsageError extends Error {
  override readonly name: string = 'UsageError';
}

/** The package version, from package.json. */
export function packageVersion(): string {
  const require = createRequire(import.meta.url);
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
  try {
    const r = parseArgs({ args: argv, options, strict: true, allowPositionals: positionals });
    return { values: r.values as ReturnType<typeof parseFlags<T>>, positionals: r.positionals };
  } catch (e) {
    throw new UsageError(`${e instanceof Error ? e.message : String(e)} (see --help)`);
  }
}

/**
 * Run a command when its module is the script node was started with (its bin), setting the
 * exit status; an unexpected exception is printed with its stack and exits 2.
 * @param moduleUrl - the command module's `import.meta.url`
 * @param name - the command's name, for messages
 * @param command - the command
 */
export function runIfMain(moduleUrl: string, name: string, command: (argv: string[]) => Promise<number>): void {
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
  // A reader that goes away (`| head`) ends the run quietly, as for any Unix tool.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  command(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${name}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 2;
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
  if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', resolve));
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
}

const COMMON = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } } as const;

/**
 * Make a command: strict flags, `--help`, `--version`, and every usage or data error turned
 * into one line on stderr and exit status 2.
 * @param spec - the command
 * @returns the command as a function of its arguments
 */
export function defineCommand<T extends OptionTable>(spec: CommandSpec<T>): (argv: string[], io?: CommandIO) => Promise<number> {
  return async (argv, io = processIO()) => {
    try {
      const parsed = parseCommandLine(argv, { ...spec.options, ...COMMON }, spec.positionals === true);
      const flags = parsed.values as Record<string, unknown>;
      if (flags.help) {
        await write(io.stdout, spec.help);
        return 0;
      }
      if (flags.version) {
        await write(io.stdout, `${packageVersion()}\n`);
        return 0;
      }
      const need = (flag: keyof T & string): string => {
        const v = flags[flag];
        if (typeof v !== 'string' || v === '') throw new UsageError(`--${flag} is required (see --help)`);
        return v;
      };
      return await spec.run(flags as unknown as Flags<T>, need, io, parsed.positionals);
    } catch (e) {
      if (e instanceof UsageError || e instanceof ValidateLogsError) {
        await write(io.stderr, `${spec.name}: error: ${e.message}\n`);
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
