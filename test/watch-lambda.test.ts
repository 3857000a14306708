// The watch's Lambda handler end to end: the real `validate-logs watch` pass (no injected runner)
// over the built-in sample uploaded to s3rver, its state in another bucket behind the proxy that
// gives s3rver S3's conditional writes, alerts published through the real SNS client to a
// loopback recorder. A scheduled event and an SQS notification of a digest key each run one
// pass; a notification of a log key runs none; deleting the pinned digest is a rollback alerted
// once however many passes see it.
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWatchHandler, type ScheduledEvent, type SqsEvent, type WatchQueueResult } from '../src/aws-lambda.js';
import { loopbackEnv, startAwsApi, startS3, uploadDir, type S3Server } from './helpers/aws.js';
import { startAwsRecorder, type AwsRecorder, type SnsPublish } from './helpers/aws-recorder.js';
import { startConditionalS3, type ConditionalS3 } from './helpers/s3-conditional.js';
import { ROOT } from './helpers/tamper.js';
import { join } from 'node:path';

const TRAIL = 'arn:aws:cloudtrail:us-east-1:111122223333:trail/sample-trail';
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:cloudtrail-integrity';
const DIGEST_FOLDER = 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/08/';
const NEWEST = `${DIGEST_FOLDER}111122223333_CloudTrail-Digest_us-east-1_sample-trail_us-east-1_20250108T060000Z.json.gz`;
const SCHEDULED: ScheduledEvent = { 'detail-type': 'Scheduled Event', source: 'aws.events' };
const A_LOG = 'AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/08/111122223333_CloudTrail_us-east-1_20250108T0105Z_log.json.gz';

interface PassRecordLine {
  pass: number;
  status: string;
  chains: { region: string; digests: number; verified: { end: string }[] }[];
  alerts: string[];
}

/** One S3 notification of a new object, as SQS hands it to the function. */
function notification(messageId: string, key: string): SqsEvent['Records'][number] {
  const body = { Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'sample-bucket' }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/') } } }] };
  return { messageId, body: JSON.stringify(body), eventSource: 'aws:sqs' } as SqsEvent['Records'][number];
}

describe('the watch handler with the real pass, S3 on loopback', () => {
  let s3: S3Server;
  let proxy: ConditionalS3;
  let recorder: AwsRecorder;
  let api: Awaited<ReturnType<typeof startAwsApi>>;
  const saved = { ...process.env };
  let stdout = '';
  let stderr = '';

  beforeAll(async () => {
    s3 = await startS3(['sample-bucket', 'watch-state']);
    await uploadDir(s3, 'sample-bucket', join(ROOT, 'sample', 'bucket'));
    proxy = await startConditionalS3(s3.url);
    recorder = await startAwsRecorder();
    api = await startAwsApi({ keys: { PublicKeyList: [] } });
    Object.assign(process.env, loopbackEnv(api.url), { AWS_ENDPOINT_URL_SNS: recorder.url, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
  }, 120_000);
  afterAll(async () => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    await api?.close();
    await recorder?.close();
    await proxy?.close();
    await s3?.close();
  });

  const handler = (): ReturnType<typeof createWatchHandler> => {
    const out = new PassThrough().on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    const err = new PassThrough().on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const args = [
      '--trail-arn', TRAIL, '--s3-bucket', 'sample-bucket', '--public-keys', join(ROOT, 'sample', 'public-keys.json'),
      '--state', 's3://watch-state/sample/', '--start-time', '2025-01-08T00:00:00Z', '--alert-sns', TOPIC, '--threads', '0',
    ];
    return createWatchHandler({ endpoint: proxy.url, stdout: out, stderr: err, env: { ...process.env, VALIDATE_LOGS_WATCH_ARGS: JSON.stringify(args) } });
  };
  const history = async (): Promise<PassRecordLine[]> => {
    const day = new Date().toISOString().slice(0, 10);
    const r = await fetch(`${s3.url}/watch-state/sample/history/${day}.jsonl`);
    expect(r.status).toBe(200);
    return (await r.text()).trim().split('\n').map((l) => JSON.parse(l) as PassRecordLine);
  };
  const published = (): Array<{ type: string; code: string; object: string; id: string }> =>
    recorder.requests.filter((r): r is SnsPublish => r.service === 'sns').map((r) => JSON.parse(r.message) as { type: string; code: string; object: string; id: string });

  it('a scheduled event runs one pass: the sample verified, the state and history written in S3 conditionally, EMF on stdout, the silence alerted once to SNS', async () => {
    const result = await handler()(SCHEDULED);
    expect(result).toEqual({ status: 0, ok: true });
    const [first] = await history();
    expect(first!.pass).toBe(1);
    expect(first!.chains.map((c) => [c.region, c.digests])).toEqual([['us-east-1', 6]]);
    expect(first!.chains[0]!.verified.at(-1)!.end).toBe('2025-01-08T06:00:00Z');
    // Every state write went through the conditional PUT: the first needed absence.
    const statePuts = proxy.puts.filter((p) => p.path === '/watch-state/sample/state.json');
    expect(statePuts[0]).toMatchObject({ condition: 'If-None-Match: *' });
    expect(statePuts.every((p) => p.status === 200)).toBe(true);
    expect((await fetch(`${s3.url}/watch-state/sample/checkpoint.note`)).status).toBe(200);
    // EMF: one JSON line per chain, with CloudWatch's directive.
    const emf = stdout.trim().split('\n').map((l) => JSON.parse(l) as { _aws?: { CloudWatchMetrics: Array<{ Namespace: string }> }; Region?: string });
    expect(emf.some((l) => l._aws?.CloudWatchMetrics[0]?.Namespace === 'ValidateLogs' && l.Region === 'us-east-1')).toBe(true);
    // The sample ended in January 2025: the chain is overdue, said once.
    expect(published().map((a) => [a.type, a.code])).toEqual([['overdue', 'CHAIN_OVERDUE']]);
  }, 120_000);

  it('an SQS notification of a digest key runs a pass that finds nothing new and alerts nothing again; one of a log key runs none', async () => {
    const digest = (await handler()({ Records: [notification('m-1', NEWEST)] })) as WatchQueueResult;
    expect(digest.batchItemFailures).toEqual([]);
    expect(digest.pass).toMatchObject({ status: 0 });
    let passes = await history();
    expect(passes.map((p) => p.pass)).toEqual([1, 2]);
    expect(passes[1]!.chains[0]!.digests).toBe(0); // nothing after the pinned digest
    expect(published()).toHaveLength(1);
    const log = (await handler()({ Records: [notification('m-2', A_LOG)] })) as WatchQueueResult;
    expect(log).toEqual({ batchItemFailures: [] });
    passes = await history();
    expect(passes).toHaveLength(2);
  }, 120_000);

  it('the pinned digest deleted: a rollback, status 1, alerted once over two passes', async () => {
    const del = await fetch(`${s3.url}/sample-bucket/${NEWEST}`, { method: 'DELETE' });
    expect(del.status).toBeLessThan(300);
    expect(await handler()(SCHEDULED)).toEqual({ status: 1, ok: false });
    expect(await handler()(SCHEDULED)).toEqual({ status: 1, ok: false });
    const rollbacks = published().filter((a) => a.code === 'CHECKPOINT_ROLLBACK');
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]!.type).toBe('finding');
    const passes = await history();
    expect(passes.map((p) => p.status)).toEqual(['valid', 'valid', 'invalid', 'invalid']);
    expect(passes[3]!.alerts).toEqual([]); // the second pass that saw it decided no alert
    expect(stderr).toContain('CHECKPOINT_ROLLBACK');
  }, 120_000);
});
