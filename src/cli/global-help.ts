/**
 * The help text of the AWS CLI global options every command accepts, in a module of its own: a
 * program's launcher prints its help without loading the options' code.
 * @module
 */

/** The part of every command's `--help` that lists the AWS CLI global options (`GLOBAL_OPTIONS`). */
export const GLOBAL_HELP = `AWS CLI global options (accepted as "aws" accepts them, so that scripts run unchanged):
  --debug                Diagnostics on stderr, each line "NAME: debug: +SECONDS ...": the
                         flags, where the run reads, each HTTP request to AWS (method, URL,
                         status or error, time taken; never a header or credential), the
                         exit status and the time taken. The progress line is not shown.
  --ca-bundle FILE       PEM certificates of the authorities trusted for AWS endpoints, instead
                         of Node.js's own list (default: the file AWS_CA_BUNDLE names, if set).
  --no-verify-ssl        Do not verify the certificates of AWS endpoints (a warning on stderr
                         says what that exposes).
  --cli-read-timeout N   Seconds a request may wait for data before it fails (0: no limit;
                         default: the AWS SDK's).
  --cli-connect-timeout N
                         Seconds a connection may take to open (0: no limit; default: the AWS
                         SDK's).
  --color on|off|auto    Accepted; no effect: the output has no colours.
  --no-paginate          Accepted; no effect: every page of every listing is always read.
  --no-cli-pager         Accepted; no effect: the output is never paged.
  --query EXPRESSION     Not supported (exit 2): use --output json and a JSON tool such as jq.
  --output table, yaml   Not supported (exit 2), where --output is a flag: use text or json.
`;
