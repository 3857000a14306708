/**
 * `validate-logs history`: being built (issue 26); replaced whole by its slice.
 * @module
 */
import { processIO, UsageError, type CommandIO } from './io.js';

/**
 * Run `validate-logs history`.
 * @param argv - the arguments after `history`
 * @param io - streams, environment, clock and stop signal
 * @returns the exit status
 */
export async function historyCommand(argv: string[], io: CommandIO = processIO()): Promise<number> {
  void argv;
  void io;
  throw new UsageError('validate-logs history is not built yet');
}
