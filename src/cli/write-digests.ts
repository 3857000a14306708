#!/usr/bin/env node
/**
 * `write-digests`: give any system's log files CloudTrail-grade integrity. Writes the signed,
 * chained hourly digest files of a trail into a local copy of a bucket, continuing the chain
 * that is there, atomically and without ever overwriting.
 * @module
 */
import { ValidateLogsError } from '../errors.js';
import { createSigner, OPEN_VALIDITY_END, PublicKeySet, parsePublicKey, type PublicKeyInfo, type Signer } from '../crypto/keys.js';
import { formatDigestTime } from '../format/time.js';
import { s3Uri, type TrailRef, checkTrailRef } from '../format/keys.js';
import { digestsStoredSince, keyFirstUse, listChain, signedBy, writeDigests, type ChainListing } from '../run/write-digests.js';
import { LocalDirectory } from '../sources/local.js';
import { outputModified, sweepTemporaryBeside, touchOutput, writeOutput } from '../sources/local/write.js';
import type { Platform } from '../platform/platform.js';
import { S3Storage } from '../sources/s3.js';
import type { ObjectSource } from '../sources/source.js';
import { readFlagFileIfAny, readFlagText } from './flag-file.js';
import { awsAccess, GLOBAL_HELP } from './global.js';
import { plural } from './words.js';
import { failureDocument } from './json.js';
import { defineCommand, packageVersion, runIfMain, StopError, threadsFlag, timeFlag, UsageError, write, type CommandIO, type Flags } from './io.js';

/** The help text of `write-digests`. */
export const WRITE_HELP: string = `Usage: write-digests --s3-bucket NAME --account-id ID --region REGION --trail-name NAME
                     --private-key KEY.pem [--local-dir DIR] [options]

Writes CloudTrail-compatible digest files for the log files under the trail's log folder: one
digest per closed hour, empty hours included, each listing the SHA-256 of the log files
delivered in that hour, linked to the previous digest, and signed with SHA256withRSA. The
newest existing chain of the trail is continued, or a new one started (with a note on stderr
when other chains are under the bucket's AWSLogs/ folder: check the account, region and trail
name). Running it again writes nothing new; an interrupted run leaves no partial file and the
next run completes the work. Nothing is ever overwritten.

In S3 (the default) each log's delivery time is its LastModified time, and each digest is
written with its signature in S3 user metadata, by a conditional write (If-None-Match: *):
two writers can never overwrite a digest or fork the chain. With --local-dir DIR (DIR is the
bucket root) each log's delivery time is its modification time, and the signature is written
beside each digest as "<digest>.metadata.json".

Log files are expected at
  DIR/[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/
      ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE16.json.gz
with the same ACCOUNT and REGION, in the folder of the date in the name; any other object there
is in no digest (validate-logs reports it). A log's modification time decides its digest, and
the time in its name must agree with it (within the hour, give or take 5 minutes, as
validate-logs checks): a log whose times disagree fails the run, named, with no digest
written. Digests are written under .../CloudTrail-Digest/REGION/YYYY/MM/DD/.

Required:
  --s3-bucket NAME         The bucket (the digests record it as where they live).
  --account-id ID          The 12-digit account in the key paths.
  --region REGION          The region in the key paths (each region has its own chain).
  --trail-name NAME        The trail name in the digest keys.
  --private-key KEY.pem    RSA private key (PEM: PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE
                           KEY", 2048 bits or more). Make one with:
                           openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem

Options:
  --local-dir DIR          Work on a local copy of the bucket instead of S3. Nothing is
                           written through a symbolic link under DIR (refused, exit 2).
  --profile NAME           S3 only: a profile of the shared AWS config and credentials files.
  --endpoint-url URL       S3 only: an S3-compatible endpoint instead of Amazon S3.
  --s3-prefix PREFIX       The trail's key prefix, if any.
  --home-region REGION     The trail's home region (default: --region).
  --organization-id ID     For organization trails: the o-... id in the key path.
  --until TIME             Write digests for hours that end at or before TIME (ISO 8601,
                           default: now; never later than now: only closed hours are written).
  --public-keys-out FILE   Write or update FILE with the public key, in the JSON shape
                           "aws cloudtrail list-public-keys" prints, for validate-logs
                           --public-keys (or any verifier). The key's window starts at the
                           oldest digest of the chain it signed (read from the chain, however
                           many runs ago it began), and closes the window of the key it
                           replaces. A closed window is never reopened by another key's
                           run: give it on a run of each key's turn before the next key's.
                           Digests stored since the file's last run that it cannot vouch
                           for (a key it does not hold, or outside the key's windows) are
                           named in a warning on stderr.
  --output text|json       text (default): a line per digest written; json: one document.
  --threads N              Threads that inflate and hash log files (default: every available
                           core; 0: in the main thread only).
  --help                   Show this help.
  --version                Show the version.

${GLOBAL_HELP}
--private-key (at most 64 KiB; a link given is followed to one) and an existing
--public-keys-out (at most 16 MiB; a link there is refused, as it is written) must be regular
files; anything else is refused unread (exit 2).

Exit status: 0 done (also when there was nothing to write); 2 a usage or environment error
(including another writer having written a digest first: nothing is overwritten); 130 or 143
stopped by SIGINT or SIGTERM: the digest being stored is finished, no temporary file is left,
and one line on stderr says how many digests were stored and how far the chain is whole.
With --output json, stdout holds one complete document on every exit: on exit 2 one with
"ok": false and an "error"; when stopped, one with "ok": false, the signal, the digests stored
and how far the chain is whole.

Example:
  write-digests --local-dir ./bucket --s3-bucket my-logs --account-id 111122223333 \\
    --region us-east-1 --trail-name app-audit --private-key key.pem \\
    --public-keys-out public-keys.json
  validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/app-audit \\
    --start-time 2025-01-01 --local-dir ./bucket --public-keys public-keys.json
`;

/** The flags of `write-digests`. */
export const WRITE_OPTIONS = {
  'local-dir': { type: 'string' },
  's3-bucket': { type: 'string' },
  's3-prefix': { type: 'string' },
  'account-id': { type: 'string' },
  region: { type: 'string' },
  'home-region': { type: 'string' },
  'organization-id': { type: 'string' },
  'trail-name': { type: 'string' },
  'private-key': { type: 'string' },
  'public-keys-out': { type: 'string' },
  profile: { type: 'string' },
  'endpoint-url': { type: 'string' },
  until: { type: 'string' },
  output: { type: 'string' },
  threads: { type: 'string' },
} as const;

/**
 * Run `write-digests` with the given arguments.
 * @param argv - the arguments (without node and script)
 * @param io - streams, environment and clock
 * @returns the exit status
 */
export const writeDigestsCommand: (argv: string[], io?: CommandIO) => Promise<number> = defineCommand({
  name: 'write-digests',
  help: WRITE_HELP,
  options: WRITE_OPTIONS,
  run,
  // With --output json, a run that stops with exit 2 prints one document saying why (nothing half-printed).
  failed: failureDocument({ fields: { tool: 'write-digests' } }),
});

async function run(flags: Flags<typeof WRITE_OPTIONS>, need: (flag: keyof typeof WRITE_OPTIONS) => string, io: CommandIO): Promise<number> {
  const dir = flags['local-dir'];
  const bucket = need('s3-bucket');
  const output = flags.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output must be text or json, not ${JSON.stringify(output)}`);
  const trail: TrailRef = {
    accountId: need('account-id'),
    region: need('region'),
    trailName: need('trail-name'),
    ...(flags['home-region'] && { homeRegion: flags['home-region'] }),
    ...(flags['s3-prefix'] && { prefix: flags['s3-prefix'].replace(/^\/+|\/+$/g, '') }),
    ...(flags['organization-id'] && { organizationId: flags['organization-id'] }),
  };
  try {
    checkTrailRef(trail);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const now = io.now();
  const until = flags.until ? timeFlag(flags.until, '--until') : now;
  if (until > now) {
    throw new UsageError(`--until ${flags.until} is in the future (now is ${formatDigestTime(now)}): only hours that have ended can be written`);
  }
  const platform = threadsFlag(flags.threads, true); // the threads start while the key is read and the logs listed
  const keyPath = need('private-key');
  const pem = await readFlagText(keyPath, '--private-key', 'key');
  let signer: Signer;
  try {
    signer = await createSigner(pem, { what: keyPath });
  } catch (e) {
    throw new UsageError(`--private-key ${keyPath}: ${(e as Error).message}`);
  }
  if (dir && (flags.profile || flags['endpoint-url'])) throw new UsageError('--profile and --endpoint-url are for S3, not with --local-dir');
  if (flags['public-keys-out']) await readKeyFile(flags['public-keys-out']); // one that cannot be updated stops the run before any digest
  const storage = dir
    ? new LocalDirectory(dir, { bucket })
    : new S3Storage({ region: trail.region, ...awsAccess(flags, io) });
  const lines: string[] = [];
  let started = false; // the chain's head was found
  let stored = 0;
  let whole: Date | undefined; // the end of the chain's newest digest
  const warnings: string[] = [];
  let result;
  try {
    result = await writeDigests({
      storage,
      bucket,
      trail,
      signer,
      until,
      now,
      platform,
      ...(io.signal && { signal: io.signal }),
      onStart: (start) => {
        started = true;
        whole = start.head?.endTime;
        if (start.otherChains.length > 0) {
          void io.stderr.write(
            `write-digests: note: no chain of trail ${trail.trailName} for account ${trail.accountId} in region ${trail.region} here: starting a new one, ` +
              `though other chains are under the bucket (${start.otherChains.join('; ')}); check --account-id, --region, --trail-name, --s3-prefix and --organization-id\n`,
          );
        }
      },
      onDigest: (d) => {
        stored++;
        whole = d.endTime;
        if (output === 'text') {
          void io.stdout.write(`Wrote digest file\t${s3Uri(bucket, d.key)}\t${plural(d.record.logFiles.length, 'log file')}\n`);
        } else lines.push(d.key);
      },
    });
    if (flags['public-keys-out']) {
      for (const warning of await updateKeyFile(flags['public-keys-out'], signer, { storage, bucket, trail, until, end: whole, platform, signal: io.signal })) {
        warnings.push(warning);
        await write(io.stderr, `write-digests: warning: ${warning}\n`);
      }
    }
    io.signal?.throwIfAborted();
  } catch (e) {
    const stop = io.signal?.aborted ? io.signal.reason : undefined;
    if (!(stop instanceof StopError)) throw e;
    await write(
      io.stderr,
      `write-digests: interrupted; ${plural(stored, 'digest')} stored, ` +
        (whole ? `the chain is whole up to ${formatDigestTime(whole)}` : started ? 'no chain yet' : 'nothing was changed') +
        ` (${stop.message}); run it again to complete the work\n`,
    );
    if (output === 'json') {
      // One complete document on this exit too: what was stored, and how far the chain is whole.
      await write(
        io.stdout,
        JSON.stringify({ tool: 'write-digests', version: packageVersion(), bucket, ok: false, interrupted: stop.code, stored: lines.map((key) => s3Uri(bucket, key)), wholeUpTo: whole ? formatDigestTime(whole) : null }) + '\n',
      );
    }
    return stop.code === 'SIGINT' ? 130 : stop.code === 'SIGTERM' ? 143 : 2;
  }
  if (output === 'text') {
    const last = result.written.at(-1);
    await write(
      io.stdout,
      result.written.length === 0
        ? `Nothing to write: the chain is complete up to ${formatDigestTime(result.continued?.endTime ?? until)}.\n`
        : `Wrote ${plural(result.written.length, 'digest file')} (${plural(result.logsHashed, 'log file')} hashed), chain ${result.continued ? 'continued' : 'started'}; newest ends ${last!.record.digestEndTime}.\n`,
    );
  } else {
    await write(
      io.stdout,
      JSON.stringify({
        tool: 'write-digests',
        version: packageVersion(),
        bucket,
        continued: result.continued ? s3Uri(result.continued.bucket, result.continued.key) : null,
        written: result.written.map((d) => ({
          object: s3Uri(bucket, d.key),
          startTime: d.record.digestStartTime,
          endTime: d.record.digestEndTime,
          logFiles: d.record.logFiles.length,
          sha256: d.sha256,
        })),
        logsHashed: result.logsHashed,
        fingerprint: signer.publicKey.fingerprint,
        warnings,
      }) + '\n',
    );
  }
  return 0;
}

/**
 * Read the `--public-keys-out` file as it is (empty when absent), with its modification time
 * (the mark of the last run's check; undefined when absent). Called before any digest is
 * written too, so that a file that cannot be updated stops the run before it changes anything.
 * @throws UsageError when a link, FIFO, device or folder is there, or the file is no key list
 */
async function readKeyFile(path: string): Promise<{ keys: PublicKeySet; modified: Date | undefined }> {
  let bytes: Uint8Array | undefined;
  let modified: Date | undefined;
  try {
    // A link, FIFO or folder there is refused before it is read.
    modified = await outputModified(path);
    if (modified) bytes = await readFlagFileIfAny(path, '--public-keys-out', 'keyList');
  } catch (e) {
    if (e instanceof ValidateLogsError) throw new UsageError(`--public-keys-out: ${e.message}`, { cause: e });
    throw e;
  }
  if (bytes === undefined) return { keys: new PublicKeySet(), modified: undefined };
  try {
    return { keys: PublicKeySet.fromListPublicKeys(new TextDecoder().decode(bytes), path), modified };
  } catch (e) {
    throw new UsageError(`--public-keys-out ${path} exists but is not a key list; not touching it: ${(e as Error).message}`);
  }
}

/** Where the chain is, to find when the signer's key began signing it. */
interface ChainAt {
  storage: ObjectSource;
  bucket: string;
  trail: TrailRef;
  until: Date;
  /** The end of the chain's newest digest, if any. */
  end: Date | undefined;
  platform: Platform | undefined;
  /** Stops the check of the digests stored since the file's last run (SIGINT, SIGTERM). */
  signal: AbortSignal | undefined;
}

/** How long before the key file's last run a digest's storage time may lie and still be checked (clocks differ). */
const MARK_MARGIN_MS = 15 * 60_000;

/**
 * Add the signer's key to a list-public-keys file (atomically), valid from the start of the
 * oldest digest of the chain's newest run of digests it signed (whichever run wrote them), and
 * close the previous open key's window there. A file that already makes the key valid from
 * then is left as it is; one whose window for the key starts too late (written by a run that
 * did not see the earlier digests) is corrected. A key that signed no digest yet is valid
 * from `until`, or from the end of the chain's newest digest when that is later.
 *
 * A closed window is never reopened: a key that signs again after its successor's window
 * began is recorded by a run given the file while that use is the chain's newest (a new
 * window from its first digest then), never by a later run of another key, which cannot
 * tell the owner's use of a retired key from a thief's. Other keys' open windows are closed
 * when the signer's window is added: at its start, or at their own start when they begin
 * after it and the signer had no open window (then the walk began at the newest digest and
 * saw the signer's signature on every digest ending after that start, or the chain ends
 * before it: theirs covers none of this chain's digests).
 *
 * Then every digest of the chain stored since the file's last run (its modification time, less
 * a margin; every digest when the file is new) is checked against the file as written: those
 * it cannot vouch for are returned, to be said, and the file's time is set to mark the check.
 * @returns one warning per key whose digests the file cannot vouch for
 */
async function updateKeyFile(path: string, signer: Signer, chain: ChainAt): Promise<string[]> {
  await sweepTemporaryBeside(path); // what a killed run left
  const { keys, modified: marked } = await readKeyFile(path);
  const fingerprint = signer.publicKey.fingerprint;
  const isOpen = (k: PublicKeyInfo): boolean => !k.validTo || k.validTo.getTime() >= OPEN_VALIDITY_END.getTime();
  const current = [...keys].find((k) => k.fingerprint === fingerprint && isOpen(k));
  const recorded = current && (current.validFrom ?? new Date(0));
  const unsigned = chain.end && chain.end > chain.until ? chain.end : chain.until; // no digest of the chain is the signer's yet
  const listed = await listChain(chain.storage, chain.bucket, chain.trail); // one listing for the walk and the check
  const firstUse =
    (await keyFirstUse(chain.storage, chain.bucket, chain.trail, signer.publicKey, { listed, ...(recorded && { from: recorded }), ...(chain.platform && { platform: chain.platform }) })) ??
    recorded ??
    unsigned;
  const unchanged = recorded !== undefined && recorded.getTime() <= firstUse.getTime();
  const updated = unchanged ? keys : new PublicKeySet();
  if (!unchanged) {
    for (const k of keys) {
      if (k === current) continue; // replaced by its corrected window
      if (!isOpen(k)) updated.add(k);
      else if (!k.validFrom || k.validFrom < firstUse) updated.add(parsePublicKey(k.der, { ...(k.validFrom && { validFrom: k.validFrom }), validTo: firstUse }));
      // No window of the signer's was open, so the walk began at the newest digest: none ending after firstUse is this key's.
      else if (!current) updated.add(parsePublicKey(k.der, { validFrom: k.validFrom, validTo: k.validFrom }));
      else updated.add(k);
    }
    updated.add(parsePublicKey(signer.publicKey.der, { validFrom: firstUse, validTo: OPEN_VALIDITY_END }));
  }
  // Checked before the file is written: the write marks the check, so a run stopped before it checks again.
  const uncovered = await notVouchedFor(updated, path, chain, listed, marked && new Date(marked.getTime() - MARK_MARGIN_MS));
  try {
    if (unchanged) await touchOutput(path);
    else await writeOutput(path, JSON.stringify(updated.toListPublicKeys(), null, 1) + '\n');
  } catch (e) {
    throw new UsageError(`--public-keys-out: ${e instanceof ValidateLogsError ? e.message : `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`}`, { cause: e });
  }
  return uncovered;
}

/**
 * The chain's digests stored since `since` that a key file cannot vouch for, one warning per
 * key: signed by a key the file does not hold, or by one whose windows there leave out the
 * time in the digest's name (a retired key's return that no run of it recorded while it was
 * the chain's newest). No run can mend that afterwards without reopening a retired key's
 * window, so it is said, and validate-logs reports each such digest. A digest that is not
 * signed, or whose signature does not verify with the key it names, is left to validate-logs.
 */
async function notVouchedFor(keys: PublicKeySet, path: string, chain: ChainAt, listed: ChainListing, since: Date | undefined): Promise<string[]> {
  /** Per fingerprint named: the code validate-logs will report, how many, the newest and the oldest (the walk goes newest first). */
  const byKey = new Map<string, { code: string; count: number; newest: string; oldest: string }>();
  for await (const d of digestsStoredSince(chain.storage, chain.bucket, listed, since, chain.platform)) {
    chain.signal?.throwIfAborted(); // the file not yet written: the next run checks again
    if (!d.signature) continue;
    const named = d.digest.record.digestPublicKeyFingerprint.toLowerCase();
    const held = keys.find(named, d.end);
    if (held && (keys.findValidAt(named, d.end) || !(await signedBy(d, held, chain.platform)))) continue;
    const entry = byKey.get(named) ?? { code: held ? 'DIGEST_KEY_NOT_VALID' : 'DIGEST_KEY_NOT_FOUND', count: 0, newest: d.key, oldest: d.key };
    entry.count++;
    entry.oldest = d.key;
    byKey.set(named, entry);
  }
  return [...byKey].map(([named, { code, count, newest, oldest }]) => {
    const which = count === 1 ? `${s3Uri(chain.bucket, newest)} is` : `${count} digests, from ${s3Uri(chain.bucket, oldest)} to ${s3Uri(chain.bucket, newest)}, are`;
    const windows = [...keys].filter((k) => k.fingerprint === named).map((k) => `${formatDigestTime(k.validFrom ?? new Date(0))} to ${formatDigestTime(k.validTo ?? OPEN_VALIDITY_END)}`);
    // A fingerprint the file does not hold is the digest's own text: shown quoted unless it has a fingerprint's form.
    const shown = /^[0-9a-f]{32}$/.test(named) ? named : JSON.stringify(named.slice(0, 64));
    const why = code === 'DIGEST_KEY_NOT_FOUND' ? `named key ${shown}, which ${path} does not hold` : `signed by key ${named}, which ${path} makes valid only from ${windows.join(', and from ')}`;
    return `${which} ${why}: validate-logs with this file will report ${count === 1 ? 'it' : 'them'} (${code}); a key's turn is recorded only by a run of that key given --public-keys-out while its digests are the chain's newest`;
  });
}

runIfMain(import.meta.url, 'write-digests', writeDigestsCommand, { stoppable: true });
