/**
 * The error of a mistake the user can fix, in a module of its own so that the modules that
 * read flags (`flag-file.ts`, `global.ts`) and the command frame (`io.ts`) share it without
 * importing each other.
 * @module
 */

/**
 * A mistake the user can fix: a bad flag, a missing file, a malformed key file. The command
 * prints its message as one line and exits with status 2.
 */
export class UsageError extends Error {
  override readonly name: string = 'UsageError';
}
