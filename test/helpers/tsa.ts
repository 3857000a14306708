// An RFC 3161 time-stamping authority on loopback: `openssl ts -reply` behind a small HTTP
// server, with a CA, a TSA certificate (critical timeStamping key usage), another CA and a
// certificate without the key usage, all made by openssl in a temporary folder.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { needOpenssl } from './tools.js';

const run = promisify(execFile);

const CONFIG = (d: string): string => `
[ req ]
distinguished_name = dn
[ dn ]
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_tsa ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_noeku ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = ${d}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`;

/** A running authority. */
export interface Tsa {
  /** Its folder (ca.pem, tsa.pem, other-ca.pem, noeku.pem and their keys). */
  dir: string;
  /** Its URL (also answers `fail` with 503 and `html` with a web page). */
  url: string;
  /** Stop it and remove its folder. */
  close(): Promise<void>;
}

/** Start an authority on loopback. */
export async function startTsa(): Promise<Tsa> {
  needOpenssl();
  const dir = mkdtempSync(join(tmpdir(), 'vl-tsa-'));
  const openssl = (args: string[]): Promise<{ stdout: string; stderr: string }> => run('openssl', args, { cwd: dir });
  let served = 0;
  writeFileSync(join(dir, 'openssl.cnf'), CONFIG(dir));
  writeFileSync(join(dir, 'serial'), '01\n');
  const cnf = ['-config', 'openssl.cnf'];
  const ca = async (name: string): Promise<void> => {
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=${name}`, '-days', '2', ...cnf, '-extensions', 'v3_ca']);
  };
  const leaf = async (name: string, ext: string): Promise<void> => {
    await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`, ...cnf]);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(Date.now() % 1e9), '-out', `${name}.pem`, '-days', '2', '-extfile', 'openssl.cnf', '-extensions', ext]);
  };
  await Promise.all([ca('ca'), ca('other-ca')]);
  await Promise.all([leaf('tsa', 'v3_tsa'), leaf('noeku', 'v3_noeku')]);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/fail') return void res.writeHead(503).end();
      if (req.url === '/html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>');
      const n = ++served;
      const q = join(dir, `q${n}.tsq`);
      const r = join(dir, `r${n}.tsr`);
      writeFileSync(q, Buffer.concat(chunks));
      if (req.headers['content-type'] !== 'application/timestamp-query') return void res.writeHead(415).end();
      execFile('openssl', ['ts', '-reply', '-config', 'openssl.cnf', '-queryfile', q, '-out', r], { cwd: dir }, (err) => {
        if (err) return void res.writeHead(500).end(String(err));
        res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(readFileSync(r));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    dir,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
