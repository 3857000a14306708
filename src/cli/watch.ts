/**
 * `validate-logs watch`: being built (issue 26); replaced whole by its slice.
 * @module
 */
import { processIO, UsageError, type CommandIO } from './io.js';

/**
 * Run `validate-logs watch`.
 * @param argv - the arguments after `watch`
 * @param io - streams, environment, clock and stop signal
 * @returns the exit status
 */
export async function watchCommand(argv: string[], io: CommandIO = processIO()): Promise<number> {
  void argv;
  void io;
  throw new UsageError('validate-logs watch is not built yet');
}
