// Ed25519 key files as openssl makes them (what a user of --checkpoint-key, --key and
// --checkpoint-public-key NAME=FILE has).
import { join } from 'node:path';
import { openssl } from './tools.js';

/** Make `NAME.pem` (private) and `NAME.pub.pem` (public) in `dir` with openssl; returns their paths. */
export function opensslEd25519(dir: string, name: string): { pem: string; pub: string } {
  const pem = join(dir, `${name}.pem`);
  const pub = join(dir, `${name}.pub.pem`);
  openssl(['genpkey', '-algorithm', 'ed25519', '-out', pem]);
  openssl(['pkey', '-in', pem, '-pubout', '-out', pub]);
  return { pem, pub };
}
