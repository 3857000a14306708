/**
 * Counts in the commands' own lines, read as English: `1 chain, 5 shards`, `1 log file`.
 * (The lines copied from the AWS CLI keep its wording: `1/1 digest files valid`.)
 * @module
 */

/**
 * A count and its noun, singular for one: `plural(1, 'log file')` is `1 log file`,
 * `plural(5, 'shard')` is `5 shards`.
 * @param n - the count
 * @param noun - the noun for one
 * @param many - the noun for any other count (default: the noun and an "s")
 * @returns the words
 */
export function plural(n: number, noun: string, many = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : many}`;
}
