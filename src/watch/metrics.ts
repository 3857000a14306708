/**
 * What `validate-logs watch` shows a monitoring system: Prometheus text (format 0.0.4) served on
 * loopback at `/metrics`, and the same numbers as CloudWatch Embedded Metric Format lines for a
 * watcher in Lambda. Both are computed from the state and the newest pass record alone.
 * @module
 */
import { createServer, type Server } from 'node:http';
import { FINDING_SEVERITY, type FindingCode } from '../chain/findings.js';
import type { ChainState, PassRecord, WatchState } from './types.js';

/** What the state and the last pass cannot tell: about the watcher as it runs now. */
export interface WatcherMetrics {
  /** Whether a pass is running now. */
  passRunning?: boolean;
}

/** The content type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A label value as the format wants it: `\`, `"` and line feeds escaped, valid UTF-8. */
const labelValue = (v: string): string =>
  v
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n');

/** A sample value: Prometheus writes infinities and NaN by name. */
const num = (n: number): string => (Number.isNaN(n) ? 'NaN' : n === Infinity ? '+Inf' : n === -Infinity ? '-Inf' : String(n));

/** Seconds since the epoch of an ISO time, or undefined. */
const seconds = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms / 1000;
};

/** One metric family being written. */
class Family {
  readonly lines: string[];
  constructor(
    readonly name: string,
    type: 'gauge' | 'counter',
    help: string,
  ) {
    this.lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  }

  add(labels: Record<string, string>, value: number | undefined): void {
    if (value === undefined) return;
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${labelValue(v)}"`)
      .join(',');
    this.lines.push(`${this.name}${l ? `{${l}}` : ''} ${num(value)}`);
  }
}

/** The chains of a state, in a stable order (by region). */
const chainsOf = (state: WatchState): ChainState[] => Object.values(state.chains).sort((a, b) => (a.region < b.region ? -1 : a.region > b.region ? 1 : 0));

/**
 * The Prometheus text of a watcher (exposition format 0.0.4). Per chain (labels `trail`,
 * `region`): the end time of the newest verified digest, digests and logs verified (counters),
 * findings by code in the newest pass (label `code`), and whether it is overdue. Per watcher
 * (label `trail`): passes, the newest pass's end time, duration and status (label `status`,
 * 1 for the newest pass's status and 0 for the others), alerts pending and consecutive failed
 * passes. Every label value comes from storage or flags and is escaped, so no region or trail
 * name can add a line or a label.
 * @param state - the state
 * @param last - the newest pass (default: the state's own `lastPass`)
 * @param extra - what the watcher knows beyond them
 * @returns the text, ending with a line feed
 */
export function renderPrometheus(state: WatchState, last: PassRecord | undefined = state.lastPass, extra: WatcherMetrics = {}): string {
  const trail = state.scope.trailArn;
  const newest = new Family('validate_logs_watch_newest_digest_end_timestamp_seconds', 'gauge', 'End time of the newest digest verified valid, per chain.');
  const digests = new Family('validate_logs_watch_digests_verified_total', 'counter', 'Digest files verified valid, over every pass.');
  const logs = new Family('validate_logs_watch_logs_verified_total', 'counter', 'Log files verified valid, over every pass.');
  const findings = new Family('validate_logs_watch_findings', 'gauge', 'Findings by code in the newest pass (invalid ones and notices).');
  const overdue = new Family('validate_logs_watch_chain_overdue', 'gauge', '1 while the chain is overdue (no new digest for longer than allowed), else 0.');
  for (const c of chainsOf(state)) {
    const labels = { trail, region: c.region };
    newest.add(labels, seconds(c.newestEnd));
    digests.add(labels, c.digests);
    logs.add(labels, c.logs);
    for (const code of Object.keys(c.findings).sort()) findings.add({ ...labels, code }, c.findings[code]);
    overdue.add(labels, c.overdue ? 1 : 0);
  }
  const w = { trail };
  const passes = new Family('validate_logs_watch_passes_total', 'counter', 'Passes committed.');
  passes.add(w, state.passes);
  const lastPass = new Family('validate_logs_watch_last_pass_timestamp_seconds', 'gauge', 'When the newest pass ended.');
  const duration = new Family('validate_logs_watch_pass_duration_seconds', 'gauge', 'How long the newest pass took.');
  const status = new Family('validate_logs_watch_pass_status', 'gauge', '1 for the status of the newest pass (valid, invalid or error), 0 for the others.');
  if (last) {
    const end = seconds(last.endedAt);
    const start = seconds(last.startedAt);
    lastPass.add(w, end);
    duration.add(w, end !== undefined && start !== undefined ? Math.max(0, end - start) : undefined);
    for (const s of ['valid', 'invalid', 'error'] as const) status.add({ ...w, status: s }, last.status === s ? 1 : 0);
  }
  const running = new Family('validate_logs_watch_pass_running', 'gauge', '1 while a pass runs.');
  running.add(w, extra.passRunning === undefined ? undefined : extra.passRunning ? 1 : 0);
  const pending = new Family('validate_logs_watch_alerts_pending', 'gauge', 'Alerts decided but not yet confirmed by every destination.');
  pending.add(w, state.outbox.length);
  const failures = new Family('validate_logs_watch_consecutive_failures', 'gauge', 'Passes in a row that could not read the trail.');
  failures.add(w, state.failing?.failures ?? 0);
  const families = [newest, digests, logs, findings, overdue, passes, lastPass, duration, status, running, pending, failures];
  return `${families.flatMap((f) => f.lines).join('\n')}\n`;
}

/** A metrics server: the port it listens on, and how to stop it. */
export interface MetricsServer {
  /** The port bound (the one chosen by the system when 0 was asked). */
  port: number;
  /** Stop listening and close every connection. */
  close(): Promise<void>;
}

/** The `Host` of a request addressed to loopback: 127.0.0.1, localhost or [::1], with a port or not. */
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i;

/**
 * Serve `GET /metrics` on 127.0.0.1 only (never another interface: the numbers name the trail
 * and its regions). Any other path is 404, any other method 405; a render that throws is 500; a
 * request whose `Host` is not 127.0.0.1, localhost or [::1] is 421 (a page of another site that
 * rebinds its name to 127.0.0.1 cannot read the numbers).
 * @param port - the port (0: any free one)
 * @param render - the text, computed at each scrape
 * @returns the server
 */
export function serveMetrics(port: number, render: () => string): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    // A web page the user visits can point its own host name at 127.0.0.1 (DNS rebinding) and
    // read what this server answers: only requests addressed to loopback by name are answered.
    if (!LOOPBACK_HOST.test(req.headers.host ?? '')) {
      res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8' }).end('the metrics answer only to 127.0.0.1 or localhost\n');
      return;
    }
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    let text: string;
    try {
      text = render();
    } catch {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('the metrics could not be rendered\n');
      return;
    }
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) }).end(req.method === 'HEAD' ? undefined : text);
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** The CloudWatch namespace of {@link emfLines}. */
export const EMF_NAMESPACE = 'ValidateLogs';

/** A metric of an EMF line: name and unit. */
const EMF_METRICS = [
  { Name: 'NewestDigestEnd', Unit: 'Seconds' },
  { Name: 'NewestDigestAge', Unit: 'Seconds' },
  { Name: 'DigestsVerified', Unit: 'Count' },
  { Name: 'LogsVerified', Unit: 'Count' },
  { Name: 'InvalidFindings', Unit: 'Count' },
  { Name: 'Notices', Unit: 'Count' },
  { Name: 'Overdue', Unit: 'Count' },
  { Name: 'PassDuration', Unit: 'Seconds' },
  { Name: 'ConsecutiveFailures', Unit: 'Count' },
  { Name: 'AlertsPending', Unit: 'Count' },
] as const;

/**
 * The same numbers as CloudWatch Embedded Metric Format: one JSON line per chain, with the
 * dimensions `Trail` and `Region`, in the namespace `ValidateLogs`. `DigestsVerified` and
 * `LogsVerified` are the newest pass's (CloudWatch sums them over a period); `NewestDigestEnd`
 * is in seconds since the epoch and `NewestDigestAge` how long before `now` it was (absent
 * while no digest was ever verified); findings are those of the newest pass.
 * @param state - the state
 * @param last - the newest pass (default: the state's own `lastPass`)
 * @param now - the time of the lines
 * @returns one line per chain (no line feed)
 */
export function emfLines(state: WatchState, last: PassRecord | undefined = state.lastPass, now: Date): string[] {
  const passStart = seconds(last?.startedAt);
  const passEnd = seconds(last?.endedAt);
  return chainsOf(state).map((c) => {
    const end = seconds(c.newestEnd);
    const pass = last?.chains.find((p) => p.region === c.region);
    let invalid = 0;
    let notices = 0;
    for (const [code, n] of Object.entries(c.findings)) {
      const severity = Object.hasOwn(FINDING_SEVERITY, code) ? FINDING_SEVERITY[code as FindingCode] : 'invalid';
      if (severity === 'invalid') invalid += n;
      else if (severity === 'notice') notices += n;
    }
    const values: Record<(typeof EMF_METRICS)[number]['Name'], number | undefined> = {
      NewestDigestEnd: end,
      NewestDigestAge: end === undefined ? undefined : Math.max(0, now.getTime() / 1000 - end),
      DigestsVerified: pass?.digests ?? 0,
      LogsVerified: pass?.logs ?? 0,
      InvalidFindings: invalid,
      Notices: notices,
      Overdue: c.overdue ? 1 : 0,
      PassDuration: passStart !== undefined && passEnd !== undefined ? Math.max(0, passEnd - passStart) : undefined,
      ConsecutiveFailures: state.failing?.failures ?? 0,
      AlertsPending: state.outbox.length,
    };
    const metrics = EMF_METRICS.filter((m) => values[m.Name] !== undefined);
    return JSON.stringify({
      _aws: { Timestamp: now.getTime(), CloudWatchMetrics: [{ Namespace: EMF_NAMESPACE, Dimensions: [['Trail', 'Region']], Metrics: metrics }] },
      Trail: state.scope.trailArn,
      Region: c.region,
      ...Object.fromEntries(metrics.map((m) => [m.Name, values[m.Name]])),
    });
  });
}
