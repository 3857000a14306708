/**
 * The `validate-logs` command that gives the same report as a run on the page, for a reader
 * who wants to repeat it in a terminal from the folder that holds the picked folder.
 * @module
 */

/** What the page ran. */
export interface CommandInput {
  /** The trail ARN. */
  trailArn: string;
  /** Start (ISO); omitted when the run starts at the digest a checkpoint pins. */
  startTime?: string;
  /** End (ISO). */
  endTime: string;
  /** Path of the bucket root, relative to the picked folder's parent, ending in `/`. */
  root: string;
  /** The bucket the digests name. */
  bucket: string;
  /** The key lists, by path relative to the picked folder's parent (or a file name). */
  keyFiles: string[];
  /** Account, region, and the ARN's account and region, to add `--account-id` and `--region` only when they differ. */
  accountId: string;
  /** The region of the chain. */
  region: string;
  /** Key prefix, if any. */
  prefix?: string;
  /** Organization id, if any. */
  organizationId?: string;
  /** The checkpoint file, and its public keys: a file (with the name a PEM key signs as) or note key text. */
  checkpoint?: { file: string; keys: Array<{ path: string; name?: string }> };
}

/**
 * Quote a word for a POSIX shell: as is when it is plainly safe, else in single quotes.
 * @param word - the word
 * @returns the quoted word
 */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The equivalent command line, with `--output json`.
 * @param c - what the page ran
 * @returns the command, one line, words quoted for a POSIX shell
 */
export function equivalentCommand(c: CommandInput): string[] {
  const arn = /^arn:[^:]+:cloudtrail:([^:]+):(\d{12}):trail\/(.+)$/.exec(c.trailArn);
  const args = ['validate-logs', '--trail-arn', c.trailArn, ...(c.startTime === undefined ? [] : ['--start-time', c.startTime]), '--end-time', c.endTime, '--local-dir', c.root.replace(/\/$/, '') || '.', '--s3-bucket', c.bucket];
  if (c.prefix) args.push('--s3-prefix', c.prefix);
  if (!arn || arn[2] !== c.accountId) args.push('--account-id', c.accountId);
  if (!arn || arn[1] !== c.region) args.push('--region', c.region);
  if (c.organizationId) args.push('--organization-id', c.organizationId);
  for (const k of c.keyFiles) args.push('--public-keys', k);
  if (c.checkpoint) {
    args.push('--checkpoint', c.checkpoint.file);
    for (const k of c.checkpoint.keys) args.push('--checkpoint-public-key', k.name ? `${k.name}=${k.path}` : k.path);
  }
  args.push('--output', 'json');
  return args;
}

/**
 * {@link equivalentCommand} as one line of shell.
 * @param c - what the page ran
 * @returns the line
 */
export function commandLine(c: CommandInput): string {
  return equivalentCommand(c).map(shellQuote).join(' ');
}
