/**
 * The help text of `validate-logs`, in a module of its own: the program's launcher prints it
 * for `--help` without loading the command.
 * @module
 */
import { GLOBAL_HELP } from './global-help.js';

/** The help text of `validate-logs`. */
export const VALIDATE_HELP: string = `Usage: validate-logs --trail-arn ARN --start-time TIME [options]
       validate-logs --trail-arn ARN --checkpoint FILE --checkpoint-public-key KEY [options]
       validate-logs cosign --help
       validate-logs report --help

Replays a CloudTrail (or write-digests) digest chain and checks every digest file and every
log file it lists: digests must be where they say, signed by a known key, correctly signed and
linked; log files must exist, be one well-formed gzip stream, and match their SHA-256. It also
finds log files no digest lists, every digest of a hole, and a deleted tail of the chain.
The flags of "aws cloudtrail validate-logs", and the AWS CLI global options listed
below, work the same here (--query and --output table are refused: see docs/cli.md).

It reads S3 directly (credentials from the usual AWS chain: environment, --profile, SSO,
instance roles), or a local copy of the bucket with --local-dir (no AWS access at all).

Required:
  --trail-arn ARN        The trail, arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME.
  --start-time TIME      Validate log files delivered on or after TIME (UTC ISO 8601:
                         2025-01-08T05:21:42Z, 2025-01-08, or with an offset like +02:00).
  --end-time TIME        Optional: and up to TIME (default: now; a time in the future is
                         now, said on stderr).

Where the files are:
  --s3-bucket NAME       The bucket (default online: from DescribeTrails; with --local-dir:
                         the bucket --checkpoint pins, or else the digests name, said on
                         stderr).
  --s3-prefix PREFIX     The trail's S3 key prefix, if it has one (default online: from
                         DescribeTrails).
  --local-dir DIR        Validate a local copy: DIR is the bucket root, as
                         "aws s3 sync s3://BUCKET DIR" lays it out. Digest signatures are read
                         from "<digest>.metadata.json" beside each digest (the output of
                         "aws s3api head-object --query Metadata"), or else from the next
                         digest's previousDigestSignature. Needs --public-keys.
  --account-id ID        The account whose logs to validate (default: the ARN's account;
                         needed for organization trails).
  --organization-id ID   For organization trails: the o-... id in the key path (default
                         online: from DescribeOrganization).
  --region REGION        The region whose chain to validate (default: the ARN's region).
  --regions LIST         Several regions of a multi-region trail at once, concurrently:
                         "all" (every region with digests) or a comma-separated list. With
                         "all", a region with no digest in range is a notice (CHAIN_EMPTY),
                         not a failure, unless no region has any.

Keys:
  --public-keys FILE     Public keys: the JSON "aws cloudtrail list-public-keys" prints (or
                         write-digests --public-keys-out writes). Repeatable. Online, without
                         it, each region's keys come from CloudTrail's ListPublicKeys.

AWS access (online only):
  --profile NAME         A profile of the shared AWS config and credentials files.
  --endpoint-url URL     An S3-compatible endpoint instead of Amazon S3.

Output and checks:
  --verbose              Also print the valid digest and log files.
  --output text|json     text (default): the AWS CLI's lines and summary, INVALID lines on
                         stderr. json: one JSON document on stdout (see schema/report.schema.json),
                         findings streamed as they are made; always complete, even when the run
                         stops (exit 2): then its "error" member says what stopped it.
  --save-to DIR          Keep everything verified (digests with .metadata.json, logs) and the
                         keys used in DIR, so that "--local-dir DIR/BUCKET --public-keys
                         DIR/public-keys.json" gives the same result later, offline.
                         Nothing under DIR is written through a symbolic link: a link (or a
                         FIFO, a folder) where a file or folder goes stops the run (exit 2).
  --allow-empty          Exit 0 when no digest is found in range (default: exit 1).
  --report FILE.html     Also write the auditor's report: one self-contained HTML file (the
                         verdict, scope, each chain's hours, the findings, the method, the
                         control mapping, the report's SHA-256 and checkpoint), made from the
                         JSON report (which then gains a "run" member: when it ran, the keys,
                         the checkpoint). Written atomically; a symbolic link, FIFO or folder
                         at FILE is refused (exit 2). "validate-logs report --help": the same
                         document from a saved JSON report. See docs/report.md.
  --fail-on-gap          Exit 1 when the chain has a gap (logging or validation was stopped
                         and restarted; by default a gap is reported but is no failure).
  --tail-grace DURATION  Time for a digest to arrive: a log delivered after the newest digest
                         is reported once its digest was due this long before the end of the
                         range, and logs this long after the newest digest, with no later
                         digest, mean the newest digests were deleted (default: 2h; 90m, 3h,
                         or minutes as a number).
  --max-log-size SIZE    Verify no log that inflates past SIZE (default 4GiB; 500MB, 10GiB,
                         or bytes): such a log (a gzip bomb) is reported LOG_TOO_LARGE.
Checkpoints (pin what was verified; see docs/checkpoints.md):
  --checkpoint FILE      Start from a signed checkpoint an earlier run wrote: each chain it pins
                         in the run's regions must still lead back, link by link, to exactly
                         the pinned digest, also from a range that does not hold it
                         (CHECKPOINT_MISMATCH: history rewritten; CHECKPOINT_ROLLBACK: the
                         pinned digest gone, with nothing after it: a region or digest folder
                         deleted too). Without --start-time the run starts at the pinned digests
                         and reads only what came after them. A checkpoint pinning no chain of
                         this trail, bucket, account and regions is refused (exit 2).
  --checkpoint-public-key KEY
                         A key that must have signed --checkpoint; repeatable, all required (a
                         witness quorum). Note key text, a file holding it, or NAME=FILE.pem.
  --checkpoint-out FILE  After the run, write a checkpoint pinning the newest digest of every
                         chain that is valid up to it, and the SHA-256 of the report (may be
                         the --checkpoint file: it then advances). Every other chain
                         --checkpoint pins keeps its pin (outside this run, or not valid: never
                         dropped, never moved back). Written atomically; a
                         symbolic link, FIFO or folder at FILE is refused (exit 2).
  --checkpoint-key FILE  The Ed25519 key that signs it ("openssl genpkey -algorithm ed25519").
  --checkpoint-name NAME The key's name in the signature line (e.g. audit.example.com/daily).
  --timestamp-url URL    Have an RFC 3161 authority time-stamp the new checkpoint's text (so a
                         witness's line added later leaves it valid); the token is kept as
                         FILE.tsr once checked: granted, for that text, with the request's
                         nonce. Otherwise exit 2, and neither file is written.
  --tsa-cert PEM         The authority's certificate: verifies --checkpoint's FILE.tsr (and the
                         new token's signature), and says the time it attests. Needs
                         --checkpoint or --timestamp-url: alone it is refused (exit 2).

  --concurrency N        Objects read from storage at once (default: 4 for a local copy, 32
                         online). A local copy's log files are read by the hashing threads,
                         as many at once as keeps them all busy.
  --threads N            Threads that inflate and hash log files (default: every available
                         core; 0: in the main thread only).
  --no-progress          Never show the progress line (it shows only on a terminal).
  --help                 Show this help.
  --version              Show the version.

${GLOBAL_HELP}
Findings (the JSON "code"; in text, a line "WHAT<TAB>s3://...<TAB>INVALID: why" on stderr):
besides the AWS CLI's checks, LOG_UNREFERENCED (no digest lists it), LOG_DUPLICATE (listed
twice), LOG_MISPLACED (listed where the trail's logs never are), DIGEST_LINK_MISMATCH,
DIGEST_TIME_INVALID, DIGEST_UNREACHED (the chain skips it), CHAIN_LOOP, CHAIN_TAIL_MISSING,
OBJECT_UNEXPECTED and OBJECT_UNREADABLE ("Object" lines: anything else in the trail's folders,
planted or unreadable); the notices CHAIN_GAP and CHAIN_EMPTY ("NOTICE:", a region with no
digest in range) fail nothing by themselves. The summary counts each object once; a line
"N/N other objects INVALID" appears only when there are some, and a line "N CODE INVALID
(why)" for each finding about the chain as a whole (CHECKPOINT_MISMATCH, CHAIN_TAIL_MISSING...),
which the counts cannot show. docs/cli.md explains every code.

Organization scale (many accounts and regions, sharded over AWS Batch, Kubernetes or Step
Functions): "validate-logs plan --help", "validate-logs --manifest FILE --help",
"validate-logs merge --help".

Files named by flags must be regular files (a link given is followed to one); a FIFO, a
device, a folder or a file over its bound is refused unread (exit 2). Bounds:
--public-keys: 16 MiB; --checkpoint: 1 MiB, and its FILE.tsr: 1 MiB; --tsa-cert: 1 MiB;
key files: 64 KiB (--checkpoint-public-key, --checkpoint-key); --manifest: 2 GiB; --ca-bundle:
4 MiB.

Exit status: 0 every digest and log in range is valid; 1 something is INVALID (or nothing
was found to validate); 2 a usage or environment error (the message says what to fix), or
the run was stopped before its end (SIGINT, SIGTERM, standard output closed).

Examples:
  # Straight from S3, every region of a multi-region trail, keys from CloudTrail:
  validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/main \\
    --start-time 2025-01-01 --end-time 2025-02-01 --regions all

  # ... and keep the evidence, then check it again offline later:
  validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/main \\
    --start-time 2025-01-01 --end-time 2025-02-01 --save-to ./evidence
  validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/main \\
    --start-time 2025-01-01 --end-time 2025-02-01 \\
    --local-dir ./evidence/my-trail-bucket --public-keys ./evidence/public-keys.json

  # A local copy of a bucket, keys saved from the AWS CLI:
  aws cloudtrail list-public-keys --start-time 2025-01-01 > keys.json
  validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/main \\
    --start-time 2025-01-01 --local-dir ./bucket-copy --public-keys keys.json --verbose

  # The built-in sample, as JSON:
  validate-logs --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/sample-trail \\
    --start-time 2025-01-08T00:00:00Z --end-time 2025-01-08T06:00:00Z \\
    --local-dir sample/bucket --public-keys sample/public-keys.json --output json
`;
