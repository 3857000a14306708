// Compatibility with the reference validator: the real AWS CLI, reading the same bucket image
// from an S3 server on loopback, with ListPublicKeys answered locally.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ListPublicKeysDocument } from './helpers/lib.js';
import { VALIDATE, node, sampleArgs } from './helpers/cli.js';
import { awsCliRequirement, awsSummaryStartDiffers, awsValidateLogs, startCloudTrail, startS3, uploadDir } from './helpers/aws.js';
import { ROOT, applyActions, copySample, tampering } from './helpers/tamper.js';

const aws = awsCliRequirement();
/** The output to compare: all of it, but the start of "Results found for" under an AWS CLI from before 2026 (see awsSummaryStartDiffers). */
const comparable = (stdout: string): string => (awsSummaryStartDiffers() ? stdout.replace(/^(Results found for )\S+( to \S+:)$/m, '$1(start)$2') : stdout);

const keys = JSON.parse(readFileSync(join(ROOT, tampering.trail.publicKeys), 'utf8')) as ListPublicKeysDocument;
const t = tampering.trail;
const awsArgs = ['--trail-arn', t.trailArn, '--start-time', t.start, '--end-time', t.end, '--s3-bucket', t.bucket, '--verbose'];

describe.skipIf(aws.skip)('the AWS CLI as the reference validator', () => {
  let cloudTrail: Awaited<ReturnType<typeof startCloudTrail>>;
  beforeAll(async () => {
    cloudTrail = await startCloudTrail(keys);
  });
  // Under CI without a usable AWS CLI, every test fails naming it (a failing beforeAll would only skip them).
  beforeEach(() => aws.check());
  afterAll(async () => {
    await cloudTrail?.close();
  });

  async function onS3<T>(dir: string, fn: (s3Url: string) => Promise<T>): Promise<T> {
    const s3 = await startS3([t.bucket]);
    try {
      await uploadDir(s3, t.bucket, dir);
      return await fn(s3.url);
    } finally {
      await s3.close();
    }
  }

  it('reports every digest and log of a chain written by write-digests valid', async () => {
    const r = await onS3(join(ROOT, t.localDir), (url) => awsValidateLogs(awsArgs, url, cloudTrail.url, 'us-east-1'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('6/6 digest files valid\n10/10 log files valid\n');
    expect(r.stdout.match(/\tvalid$/gm)).toHaveLength(16);
    expect(cloudTrail.calls).toContain('ListPublicKeys');
  });

  const same = tampering.cases.filter((c) => c.awsCli === 'same');
  it.each(same)('prints the same lines as validate-logs: $name', async (c) => {
    const { dir, cleanup } = copySample();
    try {
      applyActions(dir, c.actions);
      const theirs = await onS3(dir, (url) => awsValidateLogs(awsArgs, url, cloudTrail.url, 'us-east-1'));
      const ours = await node(VALIDATE, sampleArgs(dir, ['--verbose']));
      expect(comparable(ours.stdout)).toBe(comparable(theirs.stdout));
      expect(ours.stderr).toBe(theirs.stderr);
      expect(ours.status).toBe(theirs.status);
    } finally {
      cleanup();
    }
  });

  const differs = tampering.cases.filter((c) => c.awsCli !== 'same' && !c.awsCli.startsWith('not applicable'));
  it.each(differs)('misses what validate-logs finds: $name ($awsCli)', async (c) => {
    const { dir, cleanup } = copySample();
    try {
      applyActions(dir, c.actions);
      const theirs = await onS3(dir, (url) => awsValidateLogs(awsArgs, url, cloudTrail.url, 'us-east-1'));
      const ours = await node(VALIDATE, sampleArgs(dir, ['--verbose']));
      expect(ours.status).toBe(1);
      for (const f of c.findings) expect(ours.stderr).toContain(`s3://sample-bucket/${f.key}\tINVALID: `);
      const missed = c.findings.filter((f) => !theirs.stderr.includes(`s3://sample-bucket/${f.key}\tINVALID: `));
      expect(missed.length).toBeGreaterThan(0);
      if (c.awsCli.includes('exits 0') || c.awsCli.includes('valid')) expect(theirs.status).toBe(0);
    } finally {
      cleanup();
    }
  });
});
