// Tampering a copy of the built-in sample trail, as vectors/tampering.json describes.
import { cpSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync, appendFileSync, statSync, utimesSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { sign } from 'node:crypto';
import { parseDigest, serializeDigest, sha256, stringToSign, toHex } from './lib.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type Action =
  | { op: 'delete'; key: string }
  | { op: 'edit-log' | 'edit-digest'; key: string; from: string; to: string }
  | { op: 'flip-byte'; key: string; offset: number }
  | { op: 'append'; key: string; text: string }
  | { op: 'flip-signature'; key: string }
  | { op: 'move'; key: string; to: string }
  | { op: 'resign-digest'; key: string }
  | { op: 'inject-log'; key: string; text: string }
  | { op: 'delete-sidecars' };

export interface TamperCase {
  name: string;
  description?: string;
  actions: Action[];
  findings: Array<{ code: string; key: string }>;
  summary: { digests: [number, number]; logs: [number, number] };
  exit: number;
  awsCli: string;
}

export interface TamperVectors {
  trail: { trailArn: string; bucket: string; start: string; end: string; localDir: string; publicKeys: string };
  cases: TamperCase[];
}

export function loadJson<T>(name: string): T {
  return JSON.parse(readFileSync(join(ROOT, 'vectors', name), 'utf8')) as T;
}

export const tampering: TamperVectors = loadJson<TamperVectors>('tampering.json');

/** A fresh temporary copy of the sample bucket; returns its path and a cleanup. */
export function copySample(): { dir: string; cleanup: () => void } {
  const work = mkdtempSync(join(tmpdir(), 'vl-test-'));
  const dir = join(work, 'bucket');
  cpSync(join(ROOT, tampering.trail.localDir), dir, { recursive: true });
  return { dir, cleanup: () => rmSync(work, { recursive: true, force: true }) };
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Apply tampering actions to a bucket copy. */
export function applyActions(dir: string, actions: Action[]): void {
  for (const a of actions) {
    if (a.op === 'delete-sidecars') {
      for (const f of walk(dir)) if (f.endsWith('.metadata.json')) unlinkSync(f);
      continue;
    }
    const path = join(dir, a.key);
    switch (a.op) {
      case 'delete':
        unlinkSync(path);
        break;
      case 'edit-log':
      case 'edit-digest': {
        const text = gunzipSync(readFileSync(path)).toString('utf8');
        if (!text.includes(a.from)) throw new Error(`${a.key} does not contain ${a.from}`);
        writeFileSync(path, gzipSync(text.replace(a.from, a.to)));
        break;
      }
      case 'flip-byte': {
        const b = readFileSync(path);
        b[a.offset]! ^= 0x01;
        writeFileSync(path, b);
        break;
      }
      case 'append':
        appendFileSync(path, a.text);
        break;
      case 'flip-signature': {
        const meta = JSON.parse(readFileSync(path + '.metadata.json', 'utf8')) as Record<string, string>;
        const s = meta.signature!;
        meta.signature = s.slice(0, -1) + (s.endsWith('0') ? '1' : '0');
        writeFileSync(path + '.metadata.json', JSON.stringify(meta));
        break;
      }
      case 'move':
        renameSync(path, join(dir, a.to));
        break;
      case 'inject-log':
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, gzipSync(a.text));
        break;
      case 'resign-digest': {
        // What an insider holding the signing key can do: relist the current hashes, sign again.
        const d = parseDigest(new Uint8Array(gunzipSync(readFileSync(path))));
        const record = { ...d.record, logFiles: d.record.logFiles.map((l) => ({ ...l, hashValue: toHex(sha256(new Uint8Array(gunzipSync(readFileSync(join(dir, l.s3Object)))))) })) };
        const bytes = serializeDigest(record);
        writeFileSync(path, gzipSync(bytes));
        // Signed here with node:crypto directly, so that tampering stays synchronous.
        const text = stringToSign(record, toHex(sha256(bytes)));
        const signature = sign('sha256', Buffer.from(text), readFileSync(join(ROOT, 'vectors', 'test-key.pem'), 'utf8')).toString('hex');
        writeFileSync(path + '.metadata.json', JSON.stringify({ signature, 'signature-algorithm': 'SHA256withRSA' }));
        break;
      }
    }
  }
}

/**
 * Give each log file of a bucket copy its delivery time (from its key) as modification time,
 * as it had when delivered: copies and git checkouts do not keep modification times.
 */
export function setDeliveryTimes(dir: string): void {
  for (const f of walk(dir)) {
    const m = /_CloudTrail_[a-z0-9-]+_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_[A-Za-z0-9]{16}\.json\.gz$/.exec(f);
    if (!m) continue;
    const t = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!));
    utimesSync(f, t, t);
  }
}

/** Store an object in a local copy, with its metadata sidecar when given. */
export function putObject(dir: string, key: string, bytes: Uint8Array, metadata?: Record<string, string>): void {
  mkdirSync(dirname(join(dir, key)), { recursive: true });
  writeFileSync(join(dir, key), bytes);
  if (metadata) writeFileSync(join(dir, key) + '.metadata.json', JSON.stringify(metadata));
}
