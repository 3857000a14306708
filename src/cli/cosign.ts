/**
 * `validate-logs cosign`: a witness's signature on a checkpoint. Checks that the new checkpoint
 * is signed by the keys it must carry and that, for every chain the previous checkpoint pins,
 * the chain in storage leads from the new checkpoint's digest back to exactly the pinned one;
 * then appends the witness's own signature line, atomically. Refuses (exit 2, naming why)
 * otherwise, and then changes nothing.
 * @module
 */
import { signCheckpoint } from '../checkpoint/checkpoint.js';
import { checkExtension } from '../checkpoint/extend.js';
import { noteKeyLabel } from '../checkpoint/note.js';
import { ValidateLogsError } from '../errors.js';
import { LocalDirectory } from '../sources/local.js';
import { S3Storage } from '../sources/s3.js';
import type { ObjectSource } from '../sources/source.js';
import { readCheckpoint, signerKey, verifierKey, writeAtomically } from './checkpoint-files.js';
import { defineCommand, packageVersion, UsageError, write, type CommandIO, type Flags } from './io.js';
import { awsAccess, GLOBAL_HELP } from './global.js';
import { plural } from './words.js';
import { failureDocument } from './json.js';

/** The help text of `validate-logs cosign`. */
export const COSIGN_HELP: string = `Usage: validate-logs cosign --checkpoint NEW --previous OLD --checkpoint-public-key KEY
                          --key FILE [--name NAME] [--local-dir DIR] [options]

Witnesses a checkpoint: checks that NEW carries a valid signature from every
--checkpoint-public-key, that OLD does too, and that for every chain OLD pins, the chain in
storage leads link by link from NEW's newest digest back to exactly the digest OLD pinned
(same key, same SHA-256). Then appends this witness's signature line to NEW, atomically. It
refuses otherwise (exit 2, naming the chain and the digest where it failed), changing nothing:
history rewritten before OLD's digest, OLD's digest changed, a link broken on the way, the
newest digests deleted (NEW older than OLD), or a chain OLD pins missing from NEW.

Required:
  --checkpoint NEW             The new checkpoint (a signed note). The signature is added to it.
  --checkpoint-public-key KEY  A key NEW and OLD must be signed by; repeatable (all are
                               required). KEY is a verifier key "name+keyid+base64", a file
                               holding one, or NAME=FILE for an Ed25519 public key in PEM
                               ("openssl pkey -in key.pem -pubout").
  --key FILE                   This witness's signing key: a file holding a signer key
                               "PRIVATE+KEY+name+keyid+base64", or an Ed25519 private key in
                               PEM ("openssl genpkey -algorithm ed25519 -out FILE"; needs --name).
  --previous OLD               The checkpoint this witness cosigned last. Omit it only for the
                               first checkpoint ever: then nothing is checked but signatures.

Options:
  --name NAME                  The witness's key name (required with a PEM key), such as
                               example.com/witness.
  --out FILE                   Write the cosigned checkpoint here instead of over NEW.
  --local-dir DIR              Read the digests from a local copy of the bucket (DIR is the
                               bucket root); default: from S3.
  --profile NAME               S3 only: a profile of the shared AWS config and credentials files.
  --endpoint-url URL           S3 only: an S3-compatible endpoint instead of Amazon S3.
  --region REGION              S3 only: the region for requests (default: OLD's first chain's).
  --output text|json           text (default): one line; json: one document (the file
                               cosigned, the witness, chains and links checked, "ok": true).
  --help                       Show this help.
  --version                    Show the version.

Files named by flags must be regular files (a link given is followed to one); a FIFO, a
device, a folder or a file over its bound is refused unread (exit 2). Bounds: --checkpoint
and --previous: 1 MiB; key files: 64 KiB (--checkpoint-public-key, --key).

Exit status: 0 cosigned; 2 refused, or a usage or environment error (the message says why, on
stderr; with --output json, stdout holds one document with "ok": false and an "error").

Example (a witness's daily job):
  validate-logs cosign --checkpoint today.note --previous state/last.note \\
    --checkpoint-public-key "example.com/log+1a2b3c4d+AQ..." --key witness.pem \\
    --name example.com/witness --local-dir ./bucket && cp today.note state/last.note

${GLOBAL_HELP}`;

/** The flags of `validate-logs cosign`. */
export const COSIGN_OPTIONS = {
  checkpoint: { type: 'string' },
  previous: { type: 'string' },
  'checkpoint-public-key': { type: 'string', multiple: true },
  key: { type: 'string' },
  name: { type: 'string' },
  out: { type: 'string' },
  'local-dir': { type: 'string' },
  profile: { type: 'string' },
  'endpoint-url': { type: 'string' },
  region: { type: 'string' },
  output: { type: 'string' },
} as const;

/**
 * Run `validate-logs cosign` with the given arguments (those after `cosign`).
 * @param argv - the arguments
 * @param io - streams, environment and clock
 * @returns the exit status
 */
export const cosignCommand: (argv: string[], io?: CommandIO) => Promise<number> = defineCommand({
  name: 'validate-logs cosign',
  help: COSIGN_HELP,
  options: COSIGN_OPTIONS,
  failed: failureDocument(),
  run,
});

async function run(flags: Flags<typeof COSIGN_OPTIONS>, need: (flag: keyof typeof COSIGN_OPTIONS) => string, io: CommandIO): Promise<number> {
  const output = flags.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output must be text or json, not ${JSON.stringify(output)}`);
  const newFile = need('checkpoint');
  const keyValues = flags['checkpoint-public-key'] ?? [];
  if (keyValues.length === 0) throw new UsageError('--checkpoint-public-key is required: the key(s) the checkpoint must be signed by (see --help)');
  const keys = await Promise.all(keyValues.map(verifierKey));
  const signer = await signerKey(need('key'), flags.name, { key: '--key', name: '--name' });
  const local = flags['local-dir'];
  if (local && (flags.profile || flags['endpoint-url'])) throw new UsageError('--profile and --endpoint-url are for S3; a --local-dir run uses no AWS access');

  const current = await readCheckpoint(newFile, '--checkpoint', keys);
  let links = 0;
  let pinned = 0;
  if (flags.previous !== undefined) {
    const previous = await readCheckpoint(flags.previous, '--previous', keys);
    const source: ObjectSource = local
      ? new LocalDirectory(local)
      : new S3Storage({ region: flags.region ?? previous.checkpoint.chains[0]!.region, ...awsAccess(flags, io) });
    for (const old of previous.checkpoint.chains) {
      const chain = `chain ${old.trailArn} ${old.region}`;
      const now = current.checkpoint.chains.find((c) => c.trailArn === old.trailArn && c.region === old.region);
      if (!now) throw new UsageError(`refused: ${newFile} does not extend ${flags.previous}: it drops the ${chain}`);
      let result;
      try {
        result = await checkExtension({
          source,
          pinned: { bucket: old.bucket, key: old.key, sha256: old.sha256, endTime: old.endTime },
          head: { bucket: now.bucket, key: now.key, sha256: now.sha256 },
        });
      } catch (e) {
        if (e instanceof ValidateLogsError) throw new UsageError(`cannot check the ${chain}: ${e.message}`);
        throw e;
      }
      if (!result.ok) throw new UsageError(`refused: ${newFile} does not extend ${flags.previous} for the ${chain}: ${result.reason}: ${result.message}`);
      links += result.steps;
      pinned++;
    }
  }
  const out = flags.out ?? newFile;
  await writeAtomically(out, await signCheckpoint(current.note, [signer]));
  if (output === 'json') {
    const doc = { tool: 'validate-logs', version: packageVersion(), cosigned: out, witness: noteKeyLabel(signer), previous: flags.previous ?? null, chains: pinned, links, ok: true };
    await write(io.stdout, JSON.stringify(doc) + '\n');
    return 0;
  }
  await write(
    io.stdout,
    flags.previous === undefined
      ? `cosigned ${out} as ${noteKeyLabel(signer)}: signatures checked; no --previous, so no chain was checked (first checkpoint)\n`
      : `cosigned ${out} as ${noteKeyLabel(signer)}: every chain pinned by ${flags.previous} is extended (${plural(pinned, 'chain')}, ${plural(links, 'link')} followed)\n`,
  );
  return 0;
}
