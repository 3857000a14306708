// A drop-in for scripts written for "aws cloudtrail validate-logs": the AWS CLI's global options
// are accepted (and act where they apply), those that cannot apply are refused in one line, a
// mistyped flag gets a suggestion, --help lists every flag the parser accepts, and counts read
// as English. The built commands run as a user runs them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { VALIDATE, WRITE, node, run, sampleArgs } from './helpers/cli.js';
import { loopbackEnv, startAwsApi, startS3, uploadDir, type S3Server } from './helpers/aws.js';
import { ROOT, copySample, tampering } from './helpers/tamper.js';
import type { ListPublicKeysDocument } from './helpers/lib.js';
import { closestFlag, COMMON_OPTIONS, type CommandIO } from '../src/cli/io.js';
import { GLOBAL_OPTIONS } from '../src/cli/global.js';
import { VALIDATE_OPTIONS } from '../src/cli/plan.js';
import { MERGE_OPTIONS, PLAN_OPTIONS, SHARD_OPTIONS, mergeCommand, planCommand, shardCommand } from '../src/cli/scale.js';
import { COSIGN_OPTIONS, cosignCommand } from '../src/cli/cosign.js';
import { WRITE_OPTIONS, writeDigestsCommand } from '../src/cli/write-digests.js';
import { validateLogsCommand } from '../src/cli/validate-logs.js';
import { plural } from '../src/cli/words.js';

const t = tampering.trail;
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'vl-dropin-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
function sampleCopy(): string {
  const c = copySample();
  cleanups.push(c.cleanup);
  return c.dir;
}
async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return String((server.address() as AddressInfo).port);
}

/** Every command: how the CLI is started for it, its flags, and the in-process function. */
const COMMANDS = [
  { name: 'validate-logs', script: VALIDATE, prefix: [] as string[], options: VALIDATE_OPTIONS, command: validateLogsCommand },
  { name: 'write-digests', script: WRITE, prefix: [], options: WRITE_OPTIONS, command: writeDigestsCommand },
  { name: 'validate-logs plan', script: VALIDATE, prefix: ['plan'], options: PLAN_OPTIONS, command: planCommand },
  { name: 'validate-logs (shard)', script: VALIDATE, prefix: ['--manifest', 'm.jsonl'], options: SHARD_OPTIONS, command: shardCommand },
  { name: 'validate-logs merge', script: VALIDATE, prefix: ['merge'], options: MERGE_OPTIONS, command: mergeCommand },
  { name: 'validate-logs cosign', script: VALIDATE, prefix: ['cosign'], options: COSIGN_OPTIONS, command: cosignCommand },
] as const;

function memoryIO(env: NodeJS.ProcessEnv = {}): CommandIO & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return { stdout, stderr, env, now: () => new Date(), out: () => out, err: () => err };
}

describe('--help lists every flag each command accepts', () => {
  it.each(COMMANDS)('$name', async (c) => {
    const flags = [...Object.keys(c.options), ...Object.keys(COMMON_OPTIONS)];
    expect(flags).toContain('end-time' in c.options ? 'end-time' : 'help');
    // The table is the parser's: every flag of it at once (string flags with a value) is accepted.
    const argv = flags.flatMap((f) => {
      const spec = (COMMON_OPTIONS as Record<string, { type: string }>)[f] ?? (c.options as Record<string, { type: string }>)[f]!;
      return f === 'help' ? [] : spec.type === 'string' ? [`--${f}=x`] : [`--${f}`];
    });
    const io = memoryIO();
    expect(await c.command([...argv, '--help'], io), io.err()).toBe(0);
    const help = (await node(c.script, [...c.prefix, '--help'])).stdout;
    expect(help).toBe(io.out());
    for (const f of flags) expect(help, `--${f} in ${c.name} --help`).toMatch(new RegExp(`(^|[\\s,(])--${f}([\\s,=)]|$)`, 'm'));
  });

  it('validate-logs --help names --end-time and every AWS CLI global option', async () => {
    const help = (await node(VALIDATE, ['--help'])).stdout;
    for (const f of ['--end-time', ...Object.keys(GLOBAL_OPTIONS).map((f) => `--${f}`)]) expect(help).toContain(f);
  });
});

describe('AWS CLI options that cannot apply: one line, exit 2', () => {
  const withOutput = COMMANDS.filter((c) => 'output' in c.options);
  it.each(withOutput)('$name --output table', async (c) => {
    const r = await node(c.script, [...c.prefix, '--output', 'table']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`${c.name.replace(' (shard)', '')}: error: --output table is not supported: use text (the default) or json\n`);
    expect(r.stdout).toBe('');
  });

  it.each(COMMANDS)('$name --query', async (c) => {
    const r = await node(c.script, [...c.prefix, '--query', 'Metadata']);
    expect(r.status).toBe(2);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/: error: --query is not supported: use --output json and a JSON tool, such as jq/);
  });

  it('--color takes only on, off or auto', async () => {
    const r = await node(VALIDATE, sampleArgs(sampleCopy(), ['--color', 'always']));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('validate-logs: error: --color must be on, off or auto, not "always"\n');
  });

  it('a timeout must be whole seconds', async () => {
    const r = await node(VALIDATE, sampleArgs(sampleCopy(), ['--cli-read-timeout', '1.5']));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^validate-logs: error: --cli-read-timeout must be a whole number of seconds from 0 \(no limit\) to \d+, not "1.5"\n$/);
  });
});

describe('an unknown flag: "did you mean", one line, exit 2', () => {
  it.each([
    ['validate-logs', VALIDATE, ['--trail-ar', 'x'], "Unknown option '--trail-ar': did you mean --trail-arn?"],
    ['validate-logs', VALIDATE, ['--endtime', 'x'], "Unknown option '--endtime': did you mean --end-time?"],
    ['validate-logs', VALIDATE, ['--no-verify-ssl', '--verbos'], "Unknown option '--verbos': did you mean --verbose?"],
    ['validate-logs', VALIDATE, ['--frobnicate'], "Unknown option '--frobnicate' (see --help)"],
    ['write-digests', WRITE, ['--privte-key', 'k.pem'], "Unknown option '--privte-key': did you mean --private-key?"],
    ['validate-logs plan', VALIDATE, ['plan', '--shard-hour', '1'], "Unknown option '--shard-hour': did you mean --shard-hours?"],
    ['validate-logs', VALIDATE, ['--manifest', 'm', '--shard-idnex', '1'], "Unknown option '--shard-idnex': did you mean --shard-index?"],
    ['validate-logs merge', VALIDATE, ['merge', '--alow-empty'], "Unknown option '--alow-empty': did you mean --allow-empty?"],
    ['validate-logs cosign', VALIDATE, ['cosign', '--previuos', 'x'], "Unknown option '--previuos': did you mean --previous?"],
    ['validate-logs', VALIDATE, ['--debgu'], "Unknown option '--debgu': did you mean --debug?"],
  ])('%s %j', async (name, script, argv, message) => {
    const r = await node(script, argv);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([`${name}: error: ${message}${message.endsWith('(see --help)') ? '' : ' (see --help)'}`]);
  });

  it('suggests only a close and unambiguous flag', () => {
    const known = Object.keys(VALIDATE_OPTIONS);
    expect(closestFlag('regoin', known)).toBe('region');
    expect(closestFlag('s3-bucker', known)).toBe('s3-bucket');
    expect(closestFlag('Trail-Arn', known)).toBe('trail-arn');
    expect(closestFlag('xyz', known)).toBeUndefined();
    expect(closestFlag('bucket', known)).toBeUndefined(); // 3 edits from s3-bucket: too far for a 6-letter name
    expect(closestFlag('ab', ['ac', 'ad'])).toBeUndefined(); // as near to two: no guess
  });
});

describe('counts read as English', () => {
  it('plural()', () => {
    expect([plural(0, 'chain'), plural(1, 'chain'), plural(5, 'shard'), plural(1, 'log file'), plural(2, 'log file')]).toEqual(['0 chains', '1 chain', '5 shards', '1 log file', '2 log files']);
  });

  it('validate-logs plan: "1 chain, 1 shard"', async () => {
    const r = await node(VALIDATE, ['plan', '--s3-bucket', t.bucket, '--local-dir', sampleCopy(), '--start-time', t.start, '--end-time', t.end]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('validate-logs plan: 1 chain, 1 shard\n');
  });

  it('write-digests: "1 log file", "1 digest file"', async () => {
    const dir = temp();
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key], { stdio: 'ignore' });
    const logs = join(dir, 'bucket', 'AWSLogs', '111122223333', 'CloudTrail', 'us-east-1', '2025', '01', '08');
    mkdirSync(logs, { recursive: true });
    const log = join(logs, '111122223333_CloudTrail_us-east-1_20250108T0105Z_abcdefabcdefabcd.json.gz');
    writeFileSync(log, gzipSync('{"Records":[]}'));
    const { utimesSync } = await import('node:fs');
    utimesSync(log, new Date('2025-01-08T01:05:00Z'), new Date('2025-01-08T01:05:00Z'));
    const r = await node(WRITE, ['--local-dir', join(dir, 'bucket'), '--s3-bucket', 'b', '--account-id', '111122223333', '--region', 'us-east-1', '--trail-name', 'tr', '--private-key', key, '--until', '2025-01-08T03:00:00Z']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Wrote digest file\ts3:\/\/b\/\S+T020000Z\.json\.gz\t1 log file$/m);
    expect(r.stdout).toMatch(/^Wrote digest file\ts3:\/\/b\/\S+T030000Z\.json\.gz\t0 log files$/m);
    expect(r.stdout).toMatch(/^Wrote 2 digest files \(1 log file hashed\), chain started;/m);
    const again = await node(WRITE, ['--local-dir', join(dir, 'bucket'), '--s3-bucket', 'b', '--account-id', '111122223333', '--region', 'us-east-1', '--trail-name', 'tr', '--private-key', key, '--until', '2025-01-08T04:00:00Z']);
    expect(again.stdout).toMatch(/^Wrote 1 digest file \(0 log files hashed\), chain continued;/m);
  });
});

describe('the progress line on a terminal', () => {
  it('is erased before the summary: nothing of it is left on the summary lines', async () => {
    // One terminal for stdout and stderr, as a user sees them; the clock runs fast so that the line is drawn.
    let screen = '';
    const terminal = new PassThrough();
    terminal.setEncoding('utf8').on('data', (d: string) => (screen += d));
    const stderr = Object.assign(new PassThrough(), { isTTY: true });
    stderr.pipe(terminal, { end: false });
    const stdout = new PassThrough();
    stdout.pipe(terminal, { end: false });
    let fake = Date.now();
    const now = vi.spyOn(Date, 'now').mockImplementation(() => (fake += 5000));
    let status: number;
    try {
      status = await validateLogsCommand(sampleArgs(sampleCopy(), ['--threads', '0']), { stdout, stderr, env: { TERM: 'xterm' }, now: () => new Date() });
    } finally {
      now.mockRestore();
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(status).toBe(0);
    expect(screen).toMatch(/\d+ objects?, /); // the line was drawn
    // What a terminal shows: "\r" returns to the line's start, "\x1b[K" erases to its end.
    const shown = screen.split('\n').map((line) => line.split('\r').reduce((acc, part) => (part.startsWith('\x1b[K') ? part.slice(3) : part + acc.slice(part.length))));
    expect(shown.filter((l) => l.includes('Results requested for '))).toEqual([expect.stringMatching(/^Results requested for \S+Z to \S+Z$/)]);
    for (const l of shown) expect(l).not.toMatch(/objects?, .*\/s/); // nor anywhere else on the screen
  });
});

describe('AWS CLI global options that change nothing in the output', () => {
  it('--debug, --color, --no-paginate, --no-cli-pager and timeouts leave the report as it is', async () => {
    const dir = sampleCopy();
    const plain = await node(VALIDATE, sampleArgs(dir));
    expect(plain.status).toBe(0);
    for (const extra of [['--color', 'off'], ['--color', 'on'], ['--color', 'auto'], ['--no-paginate'], ['--no-cli-pager'], ['--cli-read-timeout', '0'], ['--cli-connect-timeout', '30']]) {
      const r = await node(VALIDATE, sampleArgs(dir, extra));
      expect([r.status, r.stdout, r.stderr], extra.join(' ')).toEqual([0, plain.stdout, plain.stderr]);
    }
    const debug = await node(VALIDATE, sampleArgs(dir, ['--debug']));
    expect(debug.status).toBe(0);
    expect(debug.stdout).toBe(plain.stdout);
    const lines = debug.stderr.split('\n').filter(Boolean);
    expect(lines.every((l) => /^validate-logs: debug: \+\d+\.\d{3}s /.test(l)), debug.stderr).toBe(true);
    expect(debug.stderr).toMatch(/debug: \+\d+\.\d{3}s flags: \{.*"local-dir"/);
    expect(debug.stderr).toMatch(/debug: \+\d+\.\d{3}s plan: \{"source":\{"type":"local"/);
    expect(lines.at(-1)).toMatch(/debug: \+\d+\.\d{3}s exit status 0$/);
  });
});

describe('AWS CLI global options against a loopback HTTPS S3', () => {
  const sampleKeys = JSON.parse(readFileSync(join(ROOT, t.publicKeys), 'utf8')) as ListPublicKeysDocument;
  let certs: string;
  let s3: S3Server;
  let https: Server;
  let httpsUrl: string;
  let env: NodeJS.ProcessEnv;
  let api: Awaited<ReturnType<typeof startAwsApi>>;
  beforeAll(async () => {
    // A CA, and a certificate for 127.0.0.1 that it signs.
    certs = mkdtempSync(join(tmpdir(), 'vl-dropin-ca-'));
    const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: certs, stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=validate-logs test CA');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(certs, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
    writeFileSync(join(certs, 'other.pem'), readFileSync(join(certs, 'server.pem'))); // a valid certificate, but no CA of the server's
    s3 = await startS3([t.bucket]);
    const dir = copySample();
    await uploadDir(s3, t.bucket, dir.dir);
    dir.cleanup();
    // TLS in front of the S3 server.
    const upstream = new URL(s3.url);
    https = createHttpsServer({ key: readFileSync(join(certs, 'server.key')), cert: readFileSync(join(certs, 'server.pem')) }, (req, res) => {
      const up = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    httpsUrl = `https://127.0.0.1:${await listen(https)}`;
    api = await startAwsApi({ keys: sampleKeys });
    env = loopbackEnv(api.url);
  });
  afterAll(async () => {
    https?.close();
    await s3?.close();
    await api?.close();
    rmSync(certs, { recursive: true, force: true });
  });

  const online = (url: string, extra: string[] = []): string[] => ['--trail-arn', t.trailArn, '--start-time', t.start, '--end-time', t.end, '--s3-bucket', t.bucket, '--endpoint-url', url, '--public-keys', join(ROOT, t.publicKeys), ...extra];

  it('--ca-bundle (or AWS_CA_BUNDLE) trusts the CA that signed the endpoint; without it the run fails, naming the certificate', async () => {
    const local = await node(VALIDATE, sampleArgs(sampleCopy()));
    expect(local.status).toBe(0);
    const trusted = await node(VALIDATE, online(httpsUrl, ['--ca-bundle', join(certs, 'ca.pem')]), env);
    expect(trusted.stderr).toBe('');
    expect([trusted.status, trusted.stdout]).toEqual([0, local.stdout]);
    const fromEnv = await node(VALIDATE, online(httpsUrl), { ...env, AWS_CA_BUNDLE: join(certs, 'ca.pem') });
    expect([fromEnv.status, fromEnv.stdout]).toEqual([0, local.stdout]);
    for (const [name, extra, more] of [
      ['no bundle', [], {}],
      ['a bundle without the CA', ['--ca-bundle', join(certs, 'other.pem')], {}],
      ['the flag wins over AWS_CA_BUNDLE', ['--ca-bundle', join(certs, 'other.pem')], { AWS_CA_BUNDLE: join(certs, 'ca.pem') }],
    ] as const) {
      const r = await run(process.execPath, [VALIDATE, ...online(httpsUrl, [...extra, '--cli-connect-timeout', '5'])], { ...env, ...more }, ROOT, 120_000);
      expect(r.status, name).toBe(2);
      expect(r.stderr, name).toMatch(/^validate-logs: error: .*(certificate|self.signed|issuer)/im);
    }
  }, 180_000);

  it('--ca-bundle or AWS_CA_BUNDLE naming a missing, special or non-PEM file: exit 2, naming it', async () => {
    const dir = temp();
    writeFileSync(join(dir, 'notpem.txt'), 'hello\n');
    writeFileSync(join(dir, 'bad.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    for (const [file, why] of [
      [join(dir, 'absent.pem'), /no such file/],
      [dir, /folder|directory/],
      ['/dev/zero', /not a regular file/],
      [join(dir, 'notpem.txt'), /holds no PEM certificate/],
      [join(dir, 'bad.pem'), /certificate 1 of 1 is not a valid certificate/],
    ] as const) {
      const viaFlag = await node(VALIDATE, online(httpsUrl, ['--ca-bundle', file]), env);
      expect(viaFlag.status).toBe(2);
      expect(viaFlag.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(viaFlag.stderr).toContain(`--ca-bundle ${file}`);
      expect(viaFlag.stderr).toMatch(why);
      const viaEnv = await node(VALIDATE, online(httpsUrl), { ...env, AWS_CA_BUNDLE: file });
      expect(viaEnv.status).toBe(2);
      expect(viaEnv.stderr).toContain(`AWS_CA_BUNDLE ${file}`);
    }
  }, 120_000);

  it('--no-verify-ssl reaches the endpoint unverified, saying so on stderr', async () => {
    const local = await node(VALIDATE, sampleArgs(sampleCopy()));
    const r = await node(VALIDATE, online(httpsUrl, ['--no-verify-ssl']), env);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(local.stdout);
    expect(r.stderr).toBe('validate-logs: warning: --no-verify-ssl: the certificates of AWS endpoints are not verified, so anyone on the network path can read and change what is sent and received\n');
  }, 60_000);

  it('--debug prints a line for each request: method, URL, status, time; never a credential', async () => {
    const r = await node(VALIDATE, online(httpsUrl, ['--ca-bundle', join(certs, 'ca.pem'), '--debug']), env);
    expect(r.status).toBe(0);
    const port = new URL(httpsUrl).port;
    expect(r.stderr).toMatch(new RegExp(`^validate-logs: debug: \\+\\d+\\.\\d{3}s S3 ListObjectsV2 GET https://127\\.0\\.0\\.1:${port}/${t.bucket}/\\?list-type=2&prefix=AWSLogs%2F\\S* -> 200 \\(\\d+ ms\\)$`, 'm'));
    expect(r.stderr).toMatch(/^validate-logs: debug: .* S3 GetObject GET https:\/\/127\.0\.0\.1:\d+\/sample-bucket\/AWSLogs\/\S+\.json\.gz(\?x-id=GetObject)? (\(direct\) )?-> 200 \(\d+ ms\)$/m);
    expect(r.stderr).toMatch(/debug: .*AWS connections: certificates verified against .*ca\.pem/);
    expect(r.stderr).toMatch(/debug: .* CloudTrail GetTrailStatus POST http:\/\/127\.0\.0\.1:\d+\/ -> 200 \(\d+ ms\)$/m);
    for (const secret of ['S3RVER', 'Authorization', 'authorization', 'Signature=']) expect(r.stderr).not.toContain(secret);
  }, 60_000);

  it('--cli-read-timeout 1 against a server that never answers fails within seconds, naming the timeout', async () => {
    const silent = createHttpServer(() => undefined); // takes each request, never answers
    cleanups.push(() => void silent.closeAllConnections());
    cleanups.push(() => void silent.close());
    const url = `http://127.0.0.1:${await listen(silent)}`;
    const started = Date.now();
    const r = await run(process.execPath, [VALIDATE, ...online(url, ['--cli-read-timeout', '1'])], env, ROOT, 60_000);
    const seconds = (Date.now() - started) / 1000;
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^validate-logs: error: .*timed out after 1000 ms/);
    expect(seconds).toBeLessThan(30);
  }, 90_000);
});
