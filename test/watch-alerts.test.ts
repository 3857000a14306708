// The alerts of `validate-logs watch` and where they go: built from findings (keys, ids,
// severities, the line people read), and delivered for real: a webhook receiver on loopback, a
// command run by /bin/sh, and the AWS SDK's own SNS and EventBridge clients talking to a
// loopback endpoint that records what they send.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { finding, FINDING_CODES, type Finding, type FindingCode } from '../src/chain/findings.js';
import { UsageError } from '../src/cli/usage-error.js';
import { ValidateLogsError } from '../src/errors.js';
import {
  ALERT_TEXT_MAX,
  alertId,
  alertKey,
  alertSeverity,
  alertText,
  alertTool,
  errorAlert,
  findingAlert,
  isAlerting,
  joinKey,
  makeAlert,
  overdueAlert,
  recoveredAlert,
} from '../src/watch/alerts.js';
import { createDestinations, detailType, retryAfterMs, snsSubject, type DestinationOptions } from '../src/watch/destinations.js';
import type { Alert, AlertDestination, WatchScope } from '../src/watch/types.js';
import { startAwsRecorder, type AwsRecorder, type PutEvents, type SnsPublish } from './helpers/aws-recorder.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';
import { ROOT } from './helpers/tamper.js';
import { createHash } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { openssl } from './helpers/tools.js';

const scope: WatchScope = { trailArn: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/sample-trail', bucket: 'sample-bucket', accountId: '111122223333' };
const at = new Date('2026-12-06T03:00:00.000Z');

function aFinding(code: FindingCode, object = 's3://sample-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/06/x.json.gz', region = 'us-east-1'): Finding {
  const key = object.replace(/^s3:\/\/[^/]+\//, '');
  return finding(code, { kind: 'log', object, bucket: 'sample-bucket', key, message: `${code} for ${key}`, backfill: false, region, expected: 'aa', actual: 'bb' });
}

const alert = findingAlert(aFinding('LOG_HASH_MISMATCH'), scope, at);

describe('alerts', () => {
  it('an id is the first 32 hex digits of the SHA-256 of the key; the tool is this package and version', () => {
    expect(alert.id).toBe(createHash('sha256').update(alert.key).digest('hex').slice(0, 32));
    expect(alert.id).toBe(alertId(alert.key));
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(alertTool()).toBe(`validate-logs ${version}`);
    expect(alert.tool).toBe(`validate-logs ${version}`);
  });

  it('a finding alert carries the fields of the contract and is plain JSON', () => {
    expect(alert).toEqual({
      id: alert.id,
      key: `finding|${scope.trailArn}|us-east-1|LOG_HASH_MISMATCH|${alert.object}`,
      type: 'finding',
      trail: scope.trailArn,
      account: '111122223333',
      region: 'us-east-1',
      code: 'LOG_HASH_MISMATCH',
      severity: 'critical',
      object: 's3://sample-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/06/x.json.gz',
      message: expect.stringContaining('LOG_HASH_MISMATCH'),
      detectedAt: '2026-12-06T03:00:00.000Z',
      expected: 'aa',
      actual: 'bb',
      tool: alertTool(),
    });
    expect(JSON.parse(JSON.stringify(alert))).toEqual(alert);
  });

  it('the same finding found again later has the same key and id; another object, code or region another', () => {
    const again = findingAlert(aFinding('LOG_HASH_MISMATCH'), scope, new Date('2026-12-07T00:00:00Z'));
    expect(again.id).toBe(alert.id);
    expect(findingAlert(aFinding('LOG_NOT_FOUND'), scope, at).id).not.toBe(alert.id);
    expect(findingAlert(aFinding('LOG_HASH_MISMATCH', 's3://sample-bucket/other.json.gz'), scope, at).id).not.toBe(alert.id);
    expect(findingAlert(aFinding('LOG_HASH_MISMATCH', alert.object, 'eu-west-1'), scope, at).id).not.toBe(alert.id);
  });

  it('a `|` in a region or object cannot make one key equal another (parts are escaped)', () => {
    const a = alertKey.finding('t', 'r|x', 'C', 'o');
    const b = alertKey.finding('t', 'r', 'x|C', 'o');
    expect(a).not.toBe(b);
    expect(joinKey(['a\\', '|b'])).not.toBe(joinKey(['a\\|', 'b']));
    expect(joinKey(['a', 'b'])).toBe('a|b');
  });

  it('severity: INVALID codes and checkpoints critical, a gap a warning; valid codes and CHAIN_EMPTY never alert', () => {
    for (const code of FINDING_CODES) {
      const f = aFinding(code);
      if (f.severity === 'invalid') {
        expect(isAlerting(f), code).toBe(true);
        expect(alertSeverity(code), code).toBe('critical');
      } else if (code === 'CHAIN_GAP') {
        expect(isAlerting(f)).toBe(true);
        expect(alertSeverity(code)).toBe('warning');
      } else {
        expect(isAlerting(f), code).toBe(false);
        expect(() => findingAlert(f, scope, at), code).toThrow(RangeError);
      }
    }
    expect(alertSeverity('CHECKPOINT_MISMATCH')).toBe('critical');
    expect(alertSeverity('CHECKPOINT_ROLLBACK')).toBe('critical');
    expect(alertSeverity('CHAIN_OVERDUE')).toBe('critical');
    expect(alertSeverity('WATCH_ERROR')).toBe('warning');
    expect(alertSeverity('CHAIN_RECOVERED')).toBe('info');
    expect(alertSeverity('A_CODE_FROM_THE_FUTURE')).toBe('critical');
    expect(isAlerting({ code: 'toString' as FindingCode })).toBe(false);
  });

  it('overdue is keyed by the newest digest end (a later silence alerts again); recovered by the id it ends; error by when failing began', () => {
    const folder = 's3://sample-bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/';
    const o1 = overdueAlert(scope, 'us-east-1', folder, '2026-12-06T00:00:00Z', at);
    const o1again = overdueAlert(scope, 'us-east-1', folder, '2026-12-06T00:00:00Z', new Date('2026-12-06T05:00:00Z'));
    const o2 = overdueAlert(scope, 'us-east-1', folder, '2026-12-06T09:00:00Z', at);
    expect(o1).toMatchObject({ type: 'overdue', code: 'CHAIN_OVERDUE', severity: 'critical', newestDigestEnd: '2026-12-06T00:00:00Z', object: folder });
    expect(o1again.id).toBe(o1.id);
    expect(o2.id).not.toBe(o1.id);
    expect(overdueAlert(scope, 'us-east-1', folder, undefined, at).message).toMatch(/no digest was ever verified/);
    const r = recoveredAlert(o1, at, '2026-12-06T10:00:00Z');
    expect(r).toMatchObject({ type: 'recovered', code: 'CHAIN_RECOVERED', severity: 'info', recovers: o1.id, newestDigestEnd: '2026-12-06T10:00:00Z' });
    expect(r.key).toContain(o1.id);
    const e1 = errorAlert(scope, '', 's3://sample-bucket/', { failures: 3, since: '2026-12-06T01:00:00Z', message: 'ListObjectsV2 failed' }, at);
    const e2 = errorAlert(scope, '', 's3://sample-bucket/', { failures: 4, since: '2026-12-06T01:00:00Z', message: 'other' }, at);
    const e3 = errorAlert(scope, '', 's3://sample-bucket/', { failures: 3, since: '2026-12-06T08:00:00Z', message: 'x' }, at);
    expect(e1).toMatchObject({ type: 'error', code: 'WATCH_ERROR', severity: 'warning', failures: 3 });
    expect(e2.id).toBe(e1.id);
    expect(e3.id).not.toBe(e1.id);
    expect(recoveredAlert(e1, at)).toMatchObject({ code: 'WATCH_RECOVERED', recovers: e1.id });
  });

  it('text: one line with severity, code, region and object; Slack specials escaped; control characters gone; bounded', () => {
    expect(alertText(alert)).toBe(`[CRITICAL] LOG_HASH_MISMATCH (finding) in us-east-1: \`${alert.object}\` ${alert.message}`);
    const hostile = makeAlert({
      ...alert,
      key: 'k',
      region: 'us-east-1\n<!channel>',
      object: 's3://b/<https://evil.example|click me>&`code`\r\n[x](https://evil.example)',
      message: 'line1\nline2\u2028<@U123> &amp; \uD800',
    });
    const text = alertText(hostile);
    expect(text).not.toMatch(/[\n\r\u2028]/);
    expect(text).not.toMatch(/[<>]/);
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).toContain('&lt;https://evil.example|click me&gt;&amp;');
    expect(text).toContain('&amp;amp;');
    expect(text.split('`').length).toBe(3); // the object's own backticks cannot close its code span
    expect(text).toContain('\uFFFD');
    const huge = alertText(makeAlert({ ...alert, key: 'k', message: '<'.repeat(100_000) }));
    expect(huge.length).toBeLessThanOrEqual(ALERT_TEXT_MAX);
    expect(huge.endsWith('…')).toBe(true);
    expect(huge).not.toMatch(/&(?:l|lt)?…$/); // never an entity cut in half
  });
});

/** Run a send and return the error it throws. */
async function failure(p: Promise<unknown>): Promise<ValidateLogsError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ValidateLogsError);
  expect((e as ValidateLogsError).code).toBe('ALERT_FAILED');
  return e as ValidateLogsError;
}

const quick: DestinationOptions = { retries: 2, backoffMs: 10, timeoutMs: 1500 };
const only = (o: DestinationOptions): AlertDestination => {
  const ds = createDestinations(o);
  expect(ds).toHaveLength(1);
  return ds[0]!;
};

describe('webhook destination', () => {
  let rx: WebhookReceiver;
  beforeAll(async () => {
    rx = await startWebhookReceiver();
  });
  afterAll(() => rx.close());
  beforeEach(() => rx.reset());
  const secretPath = '/services/T000/B000/XXXXSECRETXXXX?token=QUERYSECRET';

  it('POSTs the alert once, as JSON with a `text` field; named by a hash, labelled by scheme and host', async () => {
    const d = only({ ...quick, webhooks: [rx.url + secretPath] });
    await d.send(alert);
    expect(rx.received).toHaveLength(1);
    const r = rx.received[0]!;
    expect(r.method).toBe('POST');
    expect(r.path).toBe(secretPath);
    expect(r.headers['content-type']).toBe('application/json');
    const body = JSON.parse(r.body) as Alert & { text: string };
    const { text, ...rest } = body;
    expect(rest).toEqual(alert);
    expect(text).toBe(alertText(alert));
    expect(d.name).toBe(`webhook:${createHash('sha256').update(rx.url + secretPath).digest('hex').slice(0, 16)}`);
    expect(d.label).toBe(rx.url);
    expect(`${d.name} ${d.label}`).not.toMatch(/SECRET|services/);
  });

  it('retries a 500 with back-off, then delivers (three attempts)', async () => {
    rx.script({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
    await only({ ...quick, backoffMs: 50, webhooks: [rx.url + secretPath] }).send(alert);
    expect(rx.received).toHaveLength(3);
    const gaps = [rx.received[1]!.at - rx.received[0]!.at, rx.received[2]!.at - rx.received[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(20); // 50 ms × [0.5, 1]
    expect(gaps[1]).toBeGreaterThanOrEqual(45); // 100 ms × [0.5, 1]
  });

  it('honours a 429 Retry-After (seconds), capped by maxRetryAfterMs', async () => {
    rx.script({ kind: 'status', status: 429, retryAfter: '1' });
    let started = Date.now();
    await only({ ...quick, webhooks: [rx.url] }).send(alert);
    expect(rx.received).toHaveLength(2);
    expect(rx.received[1]!.at - rx.received[0]!.at).toBeGreaterThanOrEqual(950);
    rx.received.length = 0;
    rx.script({ kind: 'status', status: 429, retryAfter: '3600' });
    started = Date.now();
    await only({ ...quick, maxRetryAfterMs: 200, webhooks: [rx.url] }).send(alert);
    expect(rx.received).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT'))).toBe(60_000);
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('does not retry a 400; the error names the label and status, never the path or query', async () => {
    rx.script({ kind: 'status', status: 400, body: 'invalid_payload' });
    const e = await failure(only({ ...quick, webhooks: [rx.url + secretPath] }).send(alert));
    expect(rx.received).toHaveLength(1);
    expect(e.message).toContain(rx.url);
    expect(e.message).toContain('HTTP 400');
    expect(e.message).toContain('invalid_payload');
    expect(e.message).toContain(alert.id);
    expect(e.message).not.toMatch(/SECRET|services|token/);
    expect(e.transient).toBe(false);
  });

  it('gives up after the last try with ALERT_FAILED (500 every time), the path still unnamed', async () => {
    rx.script(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 500 })));
    const e = await failure(only({ ...quick, webhooks: [rx.url + secretPath] }).send(alert));
    expect(rx.received).toHaveLength(3);
    expect(e.message).toMatch(/failed after 3 tries: HTTP 500/);
    expect(e.message).not.toMatch(/SECRET|services|token/);
    expect(e.transient).toBe(true);
  });

  it('a receiver that never answers times out, each try (and is retried)', async () => {
    rx.script({ kind: 'hang' }, { kind: 'hang' });
    const started = Date.now();
    const e = await failure(only({ retries: 1, backoffMs: 10, timeoutMs: 300, webhooks: [rx.url + secretPath] }).send(alert));
    expect(rx.received).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(e.message).toMatch(/no answer within 0.3 s/);
    expect(e.message).not.toMatch(/SECRET|services|token/);
  });

  it('an endless answer body is cut: a 200 is delivered at once, a 500 retried, and little is read', async () => {
    rx.script({ kind: 'endless', status: 200 });
    const started = Date.now();
    await only({ ...quick, webhooks: [rx.url] }).send(alert);
    expect(Date.now() - started).toBeLessThan(1000);
    rx.received.length = 0;
    rx.script({ kind: 'endless', status: 500 }, { kind: 'endless', status: 500 }, { kind: 'endless', status: 500 });
    const e = await failure(only({ ...quick, webhooks: [rx.url] }).send(alert));
    expect(rx.received).toHaveLength(3);
    expect(e.message.length).toBeLessThan(600); // the body shown is bounded
    expect(e.message).toMatch(/HTTP 500: x+…/);
  });

  it('a redirect is not followed (the alert does not go where the receiver says) nor retried', async () => {
    const other = await startWebhookReceiver();
    try {
      rx.script({ kind: 'redirect', location: other.url + '/stolen' });
      const e = await failure(only({ ...quick, webhooks: [rx.url] }).send(alert));
      expect(rx.received).toHaveLength(1);
      expect(other.received).toHaveLength(0);
      expect(e.message).toMatch(/HTTP 302, a redirect \(not followed\)/);
    } finally {
      await other.close();
    }
  });

  it('a refused connection is retried, then named by scheme and host only', async () => {
    const gone = await startWebhookReceiver();
    const url = gone.url;
    await gone.close();
    const e = await failure(only({ ...quick, webhooks: [url + secretPath] }).send(alert));
    expect(e.message).toMatch(/ECONNREFUSED/);
    expect(e.message).toContain(url);
    expect(e.message).not.toMatch(/SECRET|services|token/);
  });

  it('a stop signal ends the retries at once', async () => {
    rx.script(...Array.from({ length: 5 }, () => ({ kind: 'status' as const, status: 500 })));
    const stop = new AbortController();
    const started = Date.now();
    setTimeout(() => stop.abort(), 200);
    const e = await failure(only({ retries: 4, backoffMs: 5000, timeoutMs: 1500, webhooks: [rx.url] }).send(alert, stop.signal));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(e.message).toMatch(/\(stopped\)/);
  });

  it('an answer with control characters or terminal escapes is shown harmless in the message', async () => {
    rx.script({ kind: 'status', status: 400, body: 'bad\u001b[31m red\r\nForged: line\u0007' });
    const e = await failure(only({ ...quick, webhooks: [rx.url] }).send(alert));
    expect(e.message).not.toMatch(/[\u0000-\u001f\u007f]/);
    expect(e.message).toContain('bad [31m red Forged: line');
  });

  it('the request trace (--debug) names scheme and host and status, never the path or query', async () => {
    const lines: string[] = [];
    rx.script({ kind: 'status', status: 503 });
    await only({ ...quick, http: { onRequest: (l) => lines.push(l) }, webhooks: [rx.url + secretPath] }).send(alert);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^webhook POST ${rx.url} -> 503 \\(\\d+ ms\\)$`));
    expect(lines[1]).toMatch(/-> 200 /);
    expect(lines.join('\n')).not.toMatch(/SECRET|services|token/);
  });

  it('credentials in a URL never show: the label is scheme and host only', () => {
    const d = only({ webhooks: ['https://user:pa55word@hooks.example:8443/path/SECRET?q=SECRET#frag'] });
    expect(d.label).toBe('https://hooks.example:8443');
    expect(`${d.name} ${d.label}`).not.toMatch(/user|pa55word|SECRET|frag/);
  });

  it('https: a private CA is trusted through the CA bundle, refused without it, and accepted with verification off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vl-alert-tls-'));
    try {
      openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      const got: string[] = [];
      const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
        let body = '';
        req.setEncoding('utf8').on('data', (d: string) => (body += d));
        req.on('end', () => {
          got.push(body);
          res.end('ok');
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      try {
        const e = await failure(only({ ...quick, retries: 0, webhooks: [url] }).send(alert));
        expect(e.message).toMatch(/self.signed|certificate/i);
        expect(got).toHaveLength(0);
        await only({ ...quick, http: { caBundle: cert }, webhooks: [url] }).send(alert);
        await only({ ...quick, http: { verifyTls: false }, webhooks: [url] }).send(alert);
        expect(got).toHaveLength(2);
        expect((JSON.parse(got[0]!) as Alert).id).toBe(alert.id);
      } finally {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a URL that is not http or https, naming the flag but not the URL', () => {
    for (const bad of ['file:///etc/passwd', 'ftp://host/x', 'javascript:alert(1)', 'not a url SECRET', 'gopher://h/SECRET']) {
      let thrown: unknown;
      try {
        createDestinations({ webhooks: [bad] });
      } catch (e) {
        thrown = e;
      }
      expect(thrown, bad).toBeInstanceOf(UsageError);
      expect((thrown as Error).message).toMatch(/^--alert-webhook: /);
      expect((thrown as Error).message).not.toContain('SECRET');
    }
  });
});

/** Whether a process runs (a zombie waiting for a parent that never reaps it does not). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('command destination', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vl-alert-cmd-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gets the alert JSON on stdin (one line), the environment passed through', async () => {
    const out = join(dir, 'got.json');
    const d = only({ ...quick, commands: [`cat > "${out}"; printf %s "$ALERT_TEST_VAR" > "${out}.env"`], env: { ...process.env, ALERT_TEST_VAR: 'passed' } });
    await d.send(alert);
    const text = readFileSync(out, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual(alert);
    expect(readFileSync(`${out}.env`, 'utf8')).toBe('passed');
    expect(d.name).toBe(`command:${createHash('sha256').update(`cat > "${out}"; printf %s "$ALERT_TEST_VAR" > "${out}.env"`).digest('hex').slice(0, 16)}`);
    expect(d.label).toBe('command cat');
  });

  it('the alert is data on stdin, never shell text: hostile fields run nothing', async () => {
    const pwned = join(dir, 'pwned');
    const out = join(dir, 'hostile.json');
    const hostile = makeAlert({ ...alert, key: 'h', object: `s3://b/$(touch ${pwned})\`touch ${pwned}\`'; touch ${pwned}; '`, message: `"; touch ${pwned}; echo "` });
    await only({ ...quick, commands: [`cat > "${out}"`] }).send(hostile);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(hostile);
    expect(() => readFileSync(pwned)).toThrow();
  });

  it('a non-zero exit is retried, then ALERT_FAILED with the end of stderr', async () => {
    const count = join(dir, 'count');
    const cmd = `echo x >> "${count}"; head -c 5000 /dev/zero | tr '\\0' a >&2; echo "the last words" >&2; exit 3`;
    const e = await failure(only({ ...quick, commands: [cmd] }).send(alert));
    expect(readFileSync(count, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
    expect(e.message).toMatch(/exit status 3; stderr: a+the last words/);
    expect(e.message.length).toBeLessThan(1400); // the last 1 KB of stderr, not 5 KB
  });

  it('a failing try then a good one delivers (retried like a webhook)', async () => {
    const flag = join(dir, 'flag');
    await only({ ...quick, commands: [`if [ -e "${flag}" ]; then cat >/dev/null; exit 0; fi; touch "${flag}"; exit 1`] }).send(alert);
    expect(readFileSync(flag, 'utf8')).toBe('');
  });

  it('a command that hangs is killed with its process group, each try', async () => {
    const pids = join(dir, 'pids');
    const started = Date.now();
    const e = await failure(only({ retries: 1, backoffMs: 10, commandTimeoutMs: 300, commands: [`sleep 30 & echo $! >> "${pids}"; wait`] }).send(alert));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(e.message).toMatch(/killed after 0.3 s/);
    const sleepers = readFileSync(pids, 'utf8').split('\n').filter(Boolean).map(Number);
    expect(sleepers).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 100));
    for (const pid of sleepers) expect(running(pid), `sleep ${pid} still runs`).toBe(false);
  });

  it('a command that floods stdout does not block (its output is drained, not kept)', async () => {
    const started = Date.now();
    await only({ ...quick, commands: ['head -c 50000000 /dev/zero; cat >/dev/null'] }).send(alert);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('a command that does not read its stdin, or is killed by a signal, is a failed try', async () => {
    await only({ ...quick, commands: ['exit 0'] }).send(alert);
    const e = await failure(only({ ...quick, retries: 0, commands: ['kill -TERM $$'] }).send(alert));
    expect(e.message).toMatch(/killed by SIGTERM/);
  });

  it('labels a command by its first word, never an environment assignment before it', () => {
    expect(only({ commands: ['TOKEN=s3cret ./notify --x'] }).label).toBe('command ./notify');
    expect(() => createDestinations({ commands: ['  '] })).toThrow(UsageError);
  });
});

describe('SNS and EventBridge through the AWS SDK', () => {
  let aws: AwsRecorder;
  const saved = { ...process.env };
  beforeAll(async () => {
    aws = await startAwsRecorder();
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret-example' });
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
  });
  afterAll(async () => {
    await aws.close();
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  beforeEach(() => {
    aws.requests.length = 0;
  });
  const topic = 'arn:aws:sns:eu-west-1:111122223333:integrity-alerts';

  it('SNS: Publish to the topic, the alert as the message, an ASCII subject, type and severity as attributes', async () => {
    const d = only({ ...quick, endpoint: aws.url, snsTopics: [topic] });
    expect(d.label).toBe(topic);
    await d.send(alert);
    expect(aws.requests).toHaveLength(1);
    const p = aws.requests[0] as SnsPublish;
    expect(p).toMatchObject({ service: 'sns', action: 'Publish', topicArn: topic, signed: true });
    expect(JSON.parse(p.message)).toEqual(alert);
    expect(p.subject).toBe('validate-logs critical: LOG_HASH_MISMATCH in us-east-1');
    expect(p.attributes).toEqual({ type: { type: 'String', value: 'finding' }, severity: { type: 'String', value: 'critical' } });
  });

  it('SNS: a subject stays ASCII, one line, at most 100 characters, whatever the region', () => {
    const s = snsSubject(makeAlert({ ...alert, key: 'k', region: `é\n${'r'.repeat(200)}` }));
    expect(s.length).toBeLessThanOrEqual(100);
    expect(s).toMatch(/^[\x20-\x7e]+$/);
  });

  it('SNS: a FIFO topic gets a group and the alert id as deduplication id', async () => {
    const fifo = 'arn:aws:sns:eu-west-1:111122223333:integrity.fifo';
    await only({ ...quick, endpoint: aws.url, snsTopics: [fifo] }).send(alert);
    const p = aws.requests[0] as SnsPublish;
    expect(p.form.MessageDeduplicationId).toBe(alert.id);
    expect(p.form.MessageGroupId).toBe('validate-logs');
  });

  it('SNS: a 500 is retried by us (the SDK makes one attempt per try), then delivered', async () => {
    const before = aws.attempts;
    aws.failNext(2);
    await only({ ...quick, endpoint: aws.url, snsTopics: [topic] }).send(alert);
    expect(aws.attempts - before).toBe(3);
    expect(aws.requests).toHaveLength(1);
  });

  it('SNS: failing every try is ALERT_FAILED naming the topic', async () => {
    const before = aws.attempts;
    aws.failNext(3);
    const e = await failure(only({ ...quick, endpoint: aws.url, snsTopics: [topic] }).send(alert));
    expect(aws.attempts - before).toBe(3);
    expect(e.message).toContain(topic);
    expect(e.message).toMatch(/SNS Publish: InternalError/);
  });

  it('SNS: a malformed topic ARN is a usage error', () => {
    for (const bad of ['integrity-alerts', 'arn:aws:sqs:eu-west-1:111122223333:q', 'arn:aws:sns:eu-west-1:1111:t', 'arn:aws:sns:eu-west-1:111122223333:a b']) {
      expect(() => createDestinations({ snsTopics: [bad] }), bad).toThrow(UsageError);
    }
  });

  it('EventBridge: PutEvents with Source, DetailType, the alert as Detail and the bus name', async () => {
    const d = only({ ...quick, endpoint: aws.url, region: 'eu-west-1', eventBuses: ['integrity'] });
    await d.send(alert);
    expect(aws.requests).toHaveLength(1);
    const p = aws.requests[0] as PutEvents;
    expect(p).toMatchObject({ service: 'events', action: 'PutEvents', signed: true });
    expect(p.entries).toHaveLength(1);
    const e = p.entries[0]!;
    expect(e.Source).toBe('validate-logs');
    expect(e.DetailType).toBe('CloudTrail log integrity finding');
    expect(e.DetailType).toBe(detailType(alert));
    expect(e.EventBusName).toBe('integrity');
    expect(JSON.parse(e.Detail!)).toEqual(alert);
  });

  it('EventBridge: a bus ARN gives its region; a failed entry is a failed try naming its ErrorCode', async () => {
    const bus = 'arn:aws:events:eu-central-1:111122223333:event-bus/integrity';
    aws.failEntries(1, 'ThrottlingException');
    await only({ ...quick, endpoint: aws.url, eventBuses: [bus] }).send(alert);
    expect(aws.requests).toHaveLength(2);
    expect((aws.requests[1] as PutEvents).entries[0]!.EventBusName).toBe(bus);
    aws.failEntries(5, 'AccessDeniedException');
    const e = await failure(only({ ...quick, endpoint: aws.url, eventBuses: [bus] }).send(alert));
    expect(e.message).toMatch(/the entry failed: AccessDeniedException/);
    expect(aws.requests).toHaveLength(3); // not retried: a refusal does not pass by trying again
    aws.failEntries(0, '');
  });

  it('EventBridge: a 500 is retried; a malformed bus is a usage error', async () => {
    const before = aws.attempts;
    aws.failNext(1);
    await only({ ...quick, endpoint: aws.url, region: 'eu-west-1', eventBuses: ['default'] }).send(alert);
    expect(aws.attempts - before).toBe(2);
    for (const bad of ['a bus', '', 'arn:aws:events:eu-west-1:111122223333:rule/x']) expect(() => createDestinations({ eventBuses: [bad] }), bad).toThrow(UsageError);
  });

  it('a watcher without SNS or EventBridge destinations never loads their SDK', async () => {
    const { spawnSync } = await import('node:child_process');
    const probe = `
      import { createDestinations } from './src/watch/destinations.ts';
      createDestinations({ commands: ['true'] });
      const loaded = Object.keys((await import('node:module')).createRequire(import.meta.url).cache).filter((k) => /client-(sns|eventbridge)/.test(k));
      console.log(JSON.stringify(loaded));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout.trim())).toEqual([]);
  });
});

describe('docs/alerts.md', () => {
  const page = readFileSync(join(ROOT, 'docs', 'alerts.md'), 'utf8');

  it('shows an alert as this version builds it: its id from its key, its text line, every field in the table', () => {
    const example = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(page)![1]!) as Alert;
    expect(example.id).toBe(alertId(example.key));
    expect(example.key).toBe(alertKey.finding(example.trail, example.region, example.code, example.object));
    expect(example.severity).toBe(alertSeverity(example.code));
    expect(page).toContain(`\`\`\`text\n${alertText(example)}\n\`\`\``);
    const documented = new Set([...page.matchAll(/^\| `(\w+)`(?:, `(\w+)`)? \|/gm)].flatMap((m) => [m[1], m[2]]).filter(Boolean));
    for (const field of ['id', 'key', 'type', 'trail', 'account', 'region', 'code', 'severity', 'object', 'message', 'detectedAt', 'expected', 'actual', 'newestDigestEnd', 'failures', 'recovers', 'tool']) {
      expect(documented.has(field), field).toBe(true);
    }
  });
});
