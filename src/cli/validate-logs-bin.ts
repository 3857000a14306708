#!/usr/bin/env node
/**
 * The `validate-logs` program as installed (the package's bin, `dist/cli/validate-logs.js`):
 * `--version` or `--help` alone is answered here, with Node.js's own modules and the help text,
 * and anything else loads the command (`validate-logs.ts`: the run, its subcommands) and runs
 * it. Loading the command is most of what a process asking for the version paid (about 70 ms of
 * a 200 ms process here). The command answers the same flags in the same words when they come
 * with others.
 * @module
 */
import { packageVersion, runProgram, stoppedBy, write, type CommandIO } from './process.js';

const NAME = 'validate-logs';
const argv = process.argv.slice(2);
const only = argv.length === 1 ? argv[0] : undefined;

if (only === '--version') runProgram(NAME, (_argv, io) => answer(io, `${packageVersion()}\n`), { stoppable: true });
else if (only === '--help' || only === '-h') runProgram(NAME, async (_argv, io) => answer(io, (await import('./validate-help.js')).VALIDATE_HELP), { stoppable: true });
else void import('./validate-logs.js').then((command) => command.main());

/**
 * Print `text` on standard output, as the command prints its version or help: exit status 0,
 * or 2 with the command's line on standard error when the output was closed before it was
 * taken (anything else is thrown: an internal error).
 */
async function answer(io: CommandIO, text: string): Promise<number> {
  try {
    await write(io.stdout, text);
    return 0;
  } catch (e) {
    const stop = stoppedBy(e, io.signal);
    if (stop === undefined) throw e;
    await write(io.stderr, `${NAME}: error: ${stop.message}\n`);
    return 2;
  }
}
