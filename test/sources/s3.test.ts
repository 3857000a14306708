import { afterAll, beforeAll } from 'vitest';
import { S3Storage } from '../../src/sources/s3.js';
import { startS3, putObject, type S3Server } from '../helpers/aws.js';
import { sourceContract } from './contract.js';

let server: S3Server | undefined;
beforeAll(async () => {
  server = await startS3([]);
});
afterAll(async () => {
  await server?.close();
});

sourceContract('S3Storage (s3rver on loopback)', async (bucket, objects) => {
  const url = server!.url;
  await fetch(`${url}/${bucket}`, { method: 'PUT' });
  for (const [key, o] of Object.entries(objects)) await putObject(url, bucket, key, o.body, o.metadata ?? {});
  return {
    source: new S3Storage({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }),
    cleanup: async () => {
      for (const key of Object.keys(objects)) await fetch(`${url}/${bucket}/${key}`, { method: 'DELETE' });
      await fetch(`${url}/${bucket}`, { method: 'DELETE' });
    },
  };
}, 'segments');
