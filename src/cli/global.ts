/**
 * The AWS CLI's global options, as scripts written for `aws cloudtrail validate-logs` pass
 * them: every command accepts them. Those that apply change how the AWS clients connect
 * (`--ca-bundle` or `AWS_CA_BUNDLE`, `--no-verify-ssl`, `--cli-read-timeout`,
 * `--cli-connect-timeout`) or what is said on stderr (`--debug`); those that have nothing to
 * act on are accepted and do nothing (`--color`, `--no-paginate`, `--no-cli-pager`); and
 * those that cannot be honoured (`--query`, `--output table`) are refused with one line
 * saying what to use instead.
 * @module
 */
import { X509Certificate } from 'node:crypto';
import type { AwsHttpOptions } from '../sources/http.js';
import { readFlagText } from './flag-file.js';
import { UsageError } from './usage-error.js';

export { GLOBAL_HELP } from './global-help.js';

/** The AWS CLI global options every command accepts (its `--help` lists them: {@link GLOBAL_HELP}). */
export const GLOBAL_OPTIONS = {
  debug: { type: 'boolean' },
  'ca-bundle': { type: 'string' },
  'no-verify-ssl': { type: 'boolean' },
  'cli-read-timeout': { type: 'string' },
  'cli-connect-timeout': { type: 'string' },
  color: { type: 'string' },
  'no-paginate': { type: 'boolean' },
  'no-cli-pager': { type: 'boolean' },
  query: { type: 'string' },
} as const;

/** What the global options decide for a run. */
export interface GlobalSettings {
  /** How the AWS clients connect. */
  http: AwsHttpOptions;
  /** With `--debug`: writes one diagnostic line on stderr. */
  debug?: (line: string) => void;
}

/** `--output` values the AWS CLI has and these commands do not. */
const UNSUPPORTED_OUTPUTS = new Set(['table', 'yaml', 'yaml-stream']);

/** The largest timeout, in seconds, a timer can hold (2^31 - 1 ms). */
const MAX_TIMEOUT_SECONDS = 2_147_483;

/**
 * Refuse the AWS CLI options that cannot be honoured: `--query`, and `--output table` (or
 * `yaml`, `yaml-stream`) where the command has `--output`.
 * @param flags - the parsed flags
 * @throws UsageError saying what to use instead
 */
export function refuseUnsupported(flags: Record<string, unknown>): void {
  if (flags.query !== undefined) {
    throw new UsageError("--query is not supported: use --output json and a JSON tool, such as jq (validate-logs ... --output json | jq '.summary')");
  }
  const output = flags.output;
  if (typeof output === 'string' && UNSUPPORTED_OUTPUTS.has(output)) throw new UsageError(`--output ${output} is not supported: use text (the default) or json`);
  const color = flags.color;
  if (color !== undefined && color !== 'on' && color !== 'off' && color !== 'auto') throw new UsageError(`--color must be on, off or auto, not ${JSON.stringify(color)}`);
}

/**
 * Read the global options: the CA bundle file, the timeouts, `--no-verify-ssl` (saying on
 * stderr what it exposes) and `--debug`.
 * @param flags - the parsed flags
 * @param env - the environment (`AWS_CA_BUNDLE`)
 * @param say - writes a line on stderr, prefixed with the command's name
 * @param offline - the command's flags name a run that reaches no AWS endpoint: a bundle that
 *   only the environment names (`AWS_CA_BUNDLE`) is then read but its certificates are not each
 *   parsed (about 25 ms for a system bundle of 140). Should the run connect after all, TLS is
 *   given the same text: it trusts the certificates in it that parse, never Node.js's own list
 *   instead, but skips one that does not parse without saying so (this check's named refusal is
 *   what is lost). `--ca-bundle` is always checked whole.
 * @returns the settings
 * @throws UsageError naming the flag (or `AWS_CA_BUNDLE`) and what is wrong with it
 */
export async function readGlobalFlags(flags: Record<string, unknown>, env: NodeJS.ProcessEnv, say: (line: string) => void, offline = false): Promise<GlobalSettings> {
  refuseUnsupported(flags);
  const started = performance.now();
  const debug = flags.debug === true ? (line: string): void => say(`debug: +${((performance.now() - started) / 1000).toFixed(3)}s ${line}`) : undefined;
  const http: AwsHttpOptions = {};
  const read = secondsFlag(flags['cli-read-timeout'], '--cli-read-timeout');
  if (read !== undefined) http.readTimeoutMs = read * 1000;
  const connect = secondsFlag(flags['cli-connect-timeout'], '--cli-connect-timeout');
  if (connect !== undefined) http.connectTimeoutMs = connect * 1000;
  const bundleFlag = typeof flags['ca-bundle'] === 'string' ? flags['ca-bundle'] : undefined;
  const bundle = bundleFlag ?? (env.AWS_CA_BUNDLE || undefined);
  if (bundle !== undefined) http.caBundle = await readCaBundle(bundle, bundleFlag !== undefined ? '--ca-bundle' : 'AWS_CA_BUNDLE', offline && bundleFlag === undefined);
  if (flags['no-verify-ssl'] === true) {
    http.verifyTls = false;
    say('warning: --no-verify-ssl: the certificates of AWS endpoints are not verified, so anyone on the network path can read and change what is sent and received');
  }
  if (debug) {
    http.onRequest = debug;
    debug(`flags: ${JSON.stringify(flags)}`);
    debug(`AWS connections: ${describeHttp(http, bundle)}`);
  }
  return { http, ...(debug && { debug }) };
}

/** The connection settings in words, for `--debug`. */
function describeHttp(http: AwsHttpOptions, bundle: string | undefined): string {
  const limit = (ms: number | undefined): string => (ms === undefined ? "the AWS SDK's" : ms === 0 ? 'none' : `${ms / 1000} s`);
  const trust = http.verifyTls === false ? 'certificates not verified' : bundle !== undefined ? `certificates verified against ${bundle}` : "certificates verified against Node.js's list";
  return `${trust}; connect timeout ${limit(http.connectTimeoutMs)}; read timeout ${limit(http.readTimeoutMs)}`;
}

/**
 * A timeout in whole seconds, as the AWS CLI takes it (0: no limit).
 * @param value - the flag's value, if given
 * @param flag - the flag
 * @returns the seconds, or undefined when not given
 * @throws UsageError
 */
function secondsFlag(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  const n = Number(text);
  if (!/^\d{1,7}$/.test(text) || n > MAX_TIMEOUT_SECONDS) throw new UsageError(`${flag} must be a whole number of seconds from 0 (no limit) to ${MAX_TIMEOUT_SECONDS}, not ${JSON.stringify(text)}`);
  return n;
}

/**
 * Read a CA bundle: a regular file of PEM certificates, each of which must parse.
 * @param file - the path
 * @param flag - `--ca-bundle` or `AWS_CA_BUNDLE`, for the error
 * @param unparsed - check that it is a regular file holding PEM certificates, but do not parse each
 * @returns its text
 * @throws UsageError naming the flag and the file
 */
async function readCaBundle(file: string, flag: string, unparsed = false): Promise<string> {
  const text = await readFlagText(file, flag, 'caBundle');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new UsageError(`${flag} ${file} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  if (unparsed) return text;
  blocks.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch (e) {
      throw new UsageError(`${flag} ${file}: certificate ${i + 1} of ${blocks.length} is not a valid certificate (${e instanceof Error ? e.message : String(e)})`);
    }
  });
  return text;
}

/** How a command reaches S3: {@link awsAccess}. */
export interface AwsAccess {
  /** `--endpoint-url`. */
  endpoint?: string;
  /** `--profile`. */
  profile?: string;
  /** The global options' connection settings. */
  http?: AwsHttpOptions;
}

/**
 * The S3 options of a command's flags (`--endpoint-url`, `--profile`) and global options, as
 * `S3Storage`, `DocumentStore` and a shard run take them.
 * @param flags - the parsed flags
 * @param io - the run's connection settings
 * @returns the options given (none set when none given)
 */
export function awsAccess(flags: { 'endpoint-url'?: string | undefined; profile?: string | undefined }, io: { http?: AwsHttpOptions | undefined }): AwsAccess {
  return { ...(flags['endpoint-url'] && { endpoint: flags['endpoint-url'] }), ...(flags.profile && { profile: flags.profile }), ...(io.http && { http: io.http }) };
}
