// SNS and EventBridge on loopback, for the AWS SDK's real clients: records each request (the
// action, the topic or bus, the message or the entries) and answers what the SDK expects. SNS
// speaks the AWS query protocol (a form-encoded POST, an XML answer); EventBridge AWS JSON 1.1
// (X-Amz-Target: AWSEvents.PutEvents). It can fail the next requests (HTTP 500 in each
// protocol's error shape) or report the next entries as failed.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One SNS Publish as received. */
export interface SnsPublish {
  service: 'sns';
  action: string;
  topicArn: string;
  message: string;
  subject?: string;
  attributes: Record<string, { type: string; value: string }>;
  form: Record<string, string>;
  signed: boolean;
}

/** One EventBridge PutEvents as received. */
export interface PutEvents {
  service: 'events';
  action: string;
  entries: { Source?: string; DetailType?: string; Detail?: string; EventBusName?: string; Time?: number | string }[];
  signed: boolean;
}

export type Recorded = SnsPublish | PutEvents;

export interface AwsRecorder {
  /** http://127.0.0.1:PORT: the endpoint for both clients. */
  url: string;
  /** Requests answered with success, in order. */
  requests: Recorded[];
  /** Every request that arrived, failed ones too. */
  attempts: number;
  /** Answer the next `n` requests with HTTP 500. */
  failNext(n: number): void;
  /** Report the entries of the next `n` PutEvents as failed, with this error code. */
  failEntries(n: number, code: string): void;
  close(): Promise<void>;
}

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function startAwsRecorder(): Promise<AwsRecorder> {
  const requests: Recorded[] = [];
  let attempts = 0;
  let fail = 0;
  let failEntries = 0;
  let entryCode = 'InternalFailure';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      attempts++;
      const body = Buffer.concat(chunks).toString('utf8');
      const target = String(req.headers['x-amz-target'] ?? '');
      const signed = /^AWS4-HMAC-SHA256 /.test(String(req.headers.authorization ?? ''));
      if (target.startsWith('AWSEvents.')) {
        if (fail > 0) {
          fail--;
          res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'InternalException', message: 'failing as told' }));
          return;
        }
        const input = JSON.parse(body) as { Entries?: PutEvents['entries'] };
        const entries = input.Entries ?? [];
        requests.push({ service: 'events', action: target.slice('AWSEvents.'.length), entries, signed });
        const failed = failEntries > 0;
        if (failed) failEntries--;
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(
          JSON.stringify({
            FailedEntryCount: failed ? entries.length : 0,
            Entries: entries.map(() => (failed ? { ErrorCode: entryCode, ErrorMessage: 'failed as told' } : { EventId: randomUUID() })),
          }),
        );
        return;
      }
      const form = Object.fromEntries(new URLSearchParams(body));
      if (fail > 0) {
        fail--;
        res
          .writeHead(500, { 'content-type': 'text/xml' })
          .end(`<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>failing as told</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
        return;
      }
      const attributes: SnsPublish['attributes'] = {};
      for (let i = 1; form[`MessageAttributes.entry.${i}.Name`] !== undefined; i++) {
        attributes[form[`MessageAttributes.entry.${i}.Name`]!] = {
          type: form[`MessageAttributes.entry.${i}.Value.DataType`] ?? '',
          value: form[`MessageAttributes.entry.${i}.Value.StringValue`] ?? '',
        };
      }
      requests.push({
        service: 'sns',
        action: form.Action ?? '',
        topicArn: form.TopicArn ?? '',
        message: form.Message ?? '',
        ...(form.Subject !== undefined && { subject: form.Subject }),
        attributes,
        form,
        signed,
      });
      res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(
          `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${xml(randomUUID())}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get attempts() {
      return attempts;
    },
    failNext: (n) => {
      fail = n;
    },
    failEntries: (n, code) => {
      failEntries = n;
      entryCode = code;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
