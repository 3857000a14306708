// Runs s3rver on a free loopback port in its own process, printing the port on stdout.
// Usage: node --openssl-legacy-provider s3rver-process.mjs DIR BUCKET...
// (s3rver signs list continuation tokens with DES, which OpenSSL 3 only offers through its
// legacy provider: without the flag every truncated listing fails with a 500.)
import S3rver from 's3rver';

const [dir, ...buckets] = process.argv.slice(2);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, resetOnClose: true, configureBuckets: buckets.map((name) => ({ name })) });
const { port } = await server.run();
process.stdout.write(`${port}\n`);
const stop = () => server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop); // the test process went away
process.stdin.resume();
