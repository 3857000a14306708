// The numbers of `validate-logs watch`: Prometheus text read back by a Prometheus text-format
// parser (parse-prometheus-text-format) and checked line by line against the format's grammar,
// the server asked over real sockets, and the CloudWatch Embedded Metric Format lines.
import { createRequire } from 'node:module';
import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emfLines, EMF_NAMESPACE, PROMETHEUS_CONTENT_TYPE, renderPrometheus, serveMetrics, type MetricsServer } from '../src/watch/metrics.js';
import type { PassRecord, WatchState } from '../src/watch/types.js';

interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  metrics: { value: string; labels?: Record<string, string> }[];
}
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => ParsedFamily[];

/** The format's grammar (exposition format 0.0.4), line by line: no line may be anything else. */
function strictLines(text: string): void {
  expect(text.endsWith('\n')).toBe(true);
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const label = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
  const sample = new RegExp(`^${name}(?:\\{${label}(?:,${label})*\\})? (?:[+-]?\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?|NaN|[+-]Inf)$`);
  const help = new RegExp(`^# HELP ${name} (?:[^\\\\\\n]|\\\\[\\\\n])*$`);
  const type = new RegExp(`^# TYPE ${name} (?:counter|gauge|histogram|summary|untyped)$`);
  for (const line of text.slice(0, -1).split('\n')) expect(sample.test(line) || help.test(line) || type.test(line), line).toBe(true);
}

const trail = 'arn:aws:cloudtrail:us-east-1:111122223333:trail/sample-trail';
const last: PassRecord = {
  format: 'validate-logs-watch-pass/1',
  pass: 7,
  startedAt: '2026-12-06T03:00:00.000Z',
  endedAt: '2026-12-06T03:00:02.500Z',
  status: 'invalid',
  range: { start: '2026-12-06T00:00:00Z', end: '2026-12-06T03:00:00Z' },
  chains: [
    { region: 'us-east-1', digests: 2, logs: 9, invalid: 1, notices: 0, byCode: { LOG_HASH_MISMATCH: 1 }, verified: [] },
    { region: 'eu-west-1', digests: 1, logs: 4, invalid: 0, notices: 1, byCode: { CHAIN_GAP: 1 }, verified: [] },
  ],
  alerts: ['abc'],
};
const state: WatchState = {
  format: 'validate-logs-watch-state/1',
  scope: { trailArn: trail, bucket: 'sample-bucket', accountId: '111122223333' },
  start: '2026-12-05T03:00:00Z',
  passes: 7,
  chains: {
    'us-east-1': { region: 'us-east-1', newestEnd: '2026-12-06T02:00:00Z', digests: 30, logs: 120, findings: { LOG_HASH_MISMATCH: 1 } },
    'eu-west-1': { region: 'eu-west-1', newestEnd: '2026-12-06T01:00:00Z', digests: 10, logs: 44, findings: { CHAIN_GAP: 1 }, overdue: { since: '2026-12-06T03:00:00Z', alertId: 'x' } },
    'ap-south-2': { region: 'ap-south-2', digests: 0, logs: 0, findings: {} },
  },
  sent: [],
  outbox: [{ alert: {} as never, destinations: ['webhook:1'], attempts: 1 }],
  failing: { failures: 2, since: '2026-12-06T02:00:00Z', message: 'x' },
  lastPass: last,
};

/** The parsed families by name, and the value of one sample. */
function families(text: string): Map<string, ParsedFamily> {
  return new Map(parsePrometheus(text).map((f) => [f.name, f]));
}
function value(fs: Map<string, ParsedFamily>, name: string, labels: Record<string, string>): number | undefined {
  const m = fs.get(name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m === undefined ? undefined : Number(m.value);
}

describe('Prometheus text', () => {
  it('parses, follows the grammar, and says every number of the state and the newest pass', () => {
    const text = renderPrometheus(state, last, { passRunning: false });
    strictLines(text);
    const fs = families(text);
    for (const f of fs.values()) {
      expect(f.help.length, f.name).toBeGreaterThan(5);
      expect(['GAUGE', 'COUNTER'], f.name).toContain(f.type);
      expect(f.name).toMatch(/^validate_logs_watch_/);
    }
    expect(fs.get('validate_logs_watch_digests_verified_total')!.type).toBe('COUNTER');
    const us = { trail, region: 'us-east-1' };
    const eu = { trail, region: 'eu-west-1' };
    expect(value(fs, 'validate_logs_watch_newest_digest_end_timestamp_seconds', us)).toBe(Date.parse('2026-12-06T02:00:00Z') / 1000);
    expect(value(fs, 'validate_logs_watch_newest_digest_end_timestamp_seconds', { region: 'ap-south-2' })).toBeUndefined(); // never verified: no sample
    expect(value(fs, 'validate_logs_watch_digests_verified_total', us)).toBe(30);
    expect(value(fs, 'validate_logs_watch_logs_verified_total', eu)).toBe(44);
    expect(value(fs, 'validate_logs_watch_findings', { ...us, code: 'LOG_HASH_MISMATCH' })).toBe(1);
    expect(value(fs, 'validate_logs_watch_findings', { ...eu, code: 'CHAIN_GAP' })).toBe(1);
    expect(value(fs, 'validate_logs_watch_chain_overdue', eu)).toBe(1);
    expect(value(fs, 'validate_logs_watch_chain_overdue', us)).toBe(0);
    expect(value(fs, 'validate_logs_watch_passes_total', { trail })).toBe(7);
    expect(value(fs, 'validate_logs_watch_last_pass_timestamp_seconds', { trail })).toBe(Date.parse(last.endedAt) / 1000);
    expect(value(fs, 'validate_logs_watch_pass_duration_seconds', { trail })).toBe(2.5);
    expect(value(fs, 'validate_logs_watch_pass_status', { status: 'invalid' })).toBe(1);
    expect(value(fs, 'validate_logs_watch_pass_status', { status: 'valid' })).toBe(0);
    expect(value(fs, 'validate_logs_watch_pass_status', { status: 'error' })).toBe(0);
    expect(value(fs, 'validate_logs_watch_pass_running', { trail })).toBe(0);
    expect(value(fs, 'validate_logs_watch_alerts_pending', { trail })).toBe(1);
    expect(value(fs, 'validate_logs_watch_consecutive_failures', { trail })).toBe(2);
  });

  it('a fresh state (no pass yet) renders too, without pass samples', () => {
    const fresh: WatchState = { ...state, passes: 0, chains: {}, outbox: [], sent: [] };
    delete fresh.lastPass;
    delete fresh.failing;
    const text = renderPrometheus(fresh);
    strictLines(text);
    const fs = families(text);
    expect(value(fs, 'validate_logs_watch_passes_total', { trail })).toBe(0);
    expect(value(fs, 'validate_logs_watch_last_pass_timestamp_seconds', { trail })).toBeUndefined();
    expect(value(fs, 'validate_logs_watch_consecutive_failures', { trail })).toBe(0);
  });

  it('hostile trail and region names round-trip as label values and cannot add a line or a label', () => {
    const names = [
      'us-east-1"} 1\nvalidate_logs_watch_passes_total{trail="x"} 999',
      'back\\slash\\n"quote"',
      'ends with a backslash \\',
      '# HELP injected',
      'uni\u00e9\u2028\uD83D\uDE00 and a lone \uD800',
    ];
    const hostile: WatchState = {
      ...state,
      scope: { ...state.scope, trailArn: 'arn:"trail"\n\\' },
      chains: Object.fromEntries(names.map((r) => [r, { region: r, newestEnd: '2026-12-06T02:00:00Z', digests: 1, logs: 2, findings: { [`CODE"\n${r}`]: 3 } }])),
    };
    const text = renderPrometheus(hostile, last);
    strictLines(text);
    const fs = families(text);
    expect(fs.size).toBe(12);
    const regions = fs.get('validate_logs_watch_digests_verified_total')!.metrics.map((m) => m.labels!.region);
    expect(regions.sort()).toEqual(names.map((n) => n.replace('\uD800', '\uFFFD')).sort());
    for (const m of fs.get('validate_logs_watch_findings')!.metrics) expect(m.labels!.code).toBe(`CODE"\n${m.labels!.region}`);
    expect(fs.get('validate_logs_watch_passes_total')!.metrics).toEqual([{ value: '7', labels: { trail: 'arn:"trail"\n\\' } }]);
  });
});

/** One HTTP exchange with the metrics server. */
function ask(port: number, path: string, method = 'GET', host = '127.0.0.1', headers: Record<string, string> = {}): Promise<{ status: number; type?: string; body: string; allow?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method, agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ...(res.headers['content-type'] && { type: res.headers['content-type'] }), ...(res.headers.allow && { allow: res.headers.allow }) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the metrics server', () => {
  let server: MetricsServer;
  let scrapes = 0;
  beforeAll(async () => {
    server = await serveMetrics(0, () => {
      scrapes++;
      return renderPrometheus(state, last);
    });
  });
  afterAll(() => server.close());

  it('answers GET /metrics with the text (each scrape renders anew), on the port the system chose', async () => {
    expect(server.port).toBeGreaterThan(0);
    const before = scrapes;
    const r = await ask(server.port, '/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(r.body).toBe(renderPrometheus(state, last));
    strictLines(r.body);
    await ask(server.port, '/metrics?x=1');
    expect(scrapes - before).toBe(2);
  });

  it('404 for any other path, 405 for any other method', async () => {
    for (const path of ['/', '/metrics/', '/metricsx', '/../metrics', '/favicon.ico']) expect((await ask(server.port, path)).status, path).toBe(404);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await ask(server.port, '/metrics', method);
      expect(r.status, method).toBe(405);
      expect(r.allow).toBe('GET, HEAD');
    }
    const head = await ask(server.port, '/metrics', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('listens on 127.0.0.1 only: not on any other address of this machine', async () => {
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && a.address !== '127.0.0.1')
      .map((a) => a!.address);
    for (const address of others) await expect(ask(server.port, '/metrics', 'GET', address), address).rejects.toThrow(/ECONNREFUSED/);
    await expect(ask(server.port, '/metrics', 'GET', '::1')).rejects.toThrow(/ECONNREFUSED|EADDRNOTAVAIL/);
  });

  it('answers only requests addressed to loopback by name (a rebound host name is refused)', async () => {
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, 'LOCALHOST', `[::1]:${server.port}`]) expect((await ask(server.port, '/metrics', 'GET', '127.0.0.1', { host })).status, host).toBe(200);
    for (const host of ['evil.example', `evil.example:${server.port}`, '127.0.0.1.evil.example', 'localhost.evil.example:1']) {
      const r = await ask(server.port, '/metrics', 'GET', '127.0.0.1', { host });
      expect(r.status, host).toBe(421);
      expect(r.body).not.toContain('validate_logs');
    }
    // HTTP/1.0 without any Host
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => socket.end('GET /metrics HTTP/1.0\r\n\r\n'));
      let got = '';
      socket.setEncoding('utf8').on('data', (d: string) => (got += d));
      socket.on('end', () => resolve(got));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.[01] 421 /);
  });

  it('a render that throws is a 500 (the server stays up); close() stops it', async () => {
    const broken = await serveMetrics(0, () => {
      throw new Error('boom');
    });
    expect((await ask(broken.port, '/metrics')).status).toBe(500);
    expect((await ask(broken.port, '/metrics')).status).toBe(500);
    await broken.close();
    await expect(ask(broken.port, '/metrics')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('a port in use is an error, not a silent second server', async () => {
    await expect(serveMetrics(server.port, () => '')).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('CloudWatch Embedded Metric Format', () => {
  const now = new Date('2026-12-06T03:30:00Z');

  it('one JSON line per chain, with the _aws structure, and the numbers of the state and the pass', () => {
    const lines = emfLines(state, last, now);
    expect(lines).toHaveLength(3);
    const byRegion = new Map(lines.map((l) => {
      expect(l).not.toContain('\n');
      const o = JSON.parse(l) as Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } };
      return [o.Region as string, o];
    }));
    const us = byRegion.get('us-east-1')!;
    expect(us._aws.Timestamp).toBe(now.getTime());
    expect(us._aws.CloudWatchMetrics).toHaveLength(1);
    const d = us._aws.CloudWatchMetrics[0]!;
    expect(d.Namespace).toBe(EMF_NAMESPACE);
    expect(d.Namespace).toBe('ValidateLogs');
    expect(d.Dimensions).toEqual([['Trail', 'Region']]);
    expect(us.Trail).toBe(trail);
    // every metric named in the directive is a number member of the line, and no other
    for (const m of d.Metrics) expect(typeof us[m.Name], m.Name).toBe('number');
    expect(us).toMatchObject({
      NewestDigestEnd: Date.parse('2026-12-06T02:00:00Z') / 1000,
      NewestDigestAge: 5400,
      DigestsVerified: 2,
      LogsVerified: 9,
      InvalidFindings: 1,
      Notices: 0,
      Overdue: 0,
      PassDuration: 2.5,
      ConsecutiveFailures: 2,
      AlertsPending: 1,
    });
    expect(byRegion.get('eu-west-1')).toMatchObject({ Overdue: 1, Notices: 1, InvalidFindings: 0, DigestsVerified: 1, LogsVerified: 4 });
    const never = byRegion.get('ap-south-2')!;
    expect(never.NewestDigestEnd).toBeUndefined();
    expect(never._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name)).not.toContain('NewestDigestEnd');
    expect(never.DigestsVerified).toBe(0);
  });

  it('hostile names stay inside their JSON strings', () => {
    const region = 'r"}\n{"_aws":1, "x":"\uD800';
    const lines = emfLines({ ...state, chains: { [region]: { region, digests: 1, logs: 1, findings: {} } } }, last, now);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    const o = JSON.parse(lines[0]!) as { Region: string; _aws: object };
    expect(o.Region).toBe(region);
    expect(Object.keys(o._aws)).toEqual(['Timestamp', 'CloudWatchMetrics']);
  });
});
