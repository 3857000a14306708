// What the conformance tests compute, written once and run in three places: in Node with each
// platform, and in Chromium on the browser bundle (given to the page as `lib`). It takes the
// library as an argument and imports nothing at run time, so the page needs only the bundle.
import type * as Lib from '../../src/index.js';

/** A bucket's objects as plain data (what crosses into the page). */
export interface Records {
  bucket: string;
  objects: Array<{ key: string; base64: string; metadata?: Record<string, string> }>;
}

/** The sample trail's request. */
export interface TrailRequest {
  trailArn: string;
  start: string;
  end: string;
  keysJson: string;
}

/** The fields of a finding that every platform must agree on (messages name platform errors). */
export interface Seen {
  code: string;
  object: string;
  severity: string;
  expected?: string;
  actual?: string;
}

const decode = (base64: string): Uint8Array => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

/** Verify a trail held in memory; the library's default platform unless one is given. */
export async function findings(lib: typeof Lib, request: TrailRequest, records: Records, platform?: Lib.Platform): Promise<Seen[]> {
  const arn = lib.parseTrailArn(request.trailArn);
  const source = new lib.MemorySource(
    records.objects.map((o) => ({ key: o.key, bytes: decode(o.base64), ...(o.metadata && { metadata: o.metadata }) })),
    { bucket: records.bucket },
  );
  const out: Seen[] = [];
  for await (const f of lib.verifyTrail({
    source,
    bucket: records.bucket,
    trail: { accountId: arn.accountId, region: arn.region, trailName: arn.trailName },
    keys: lib.PublicKeySet.fromListPublicKeys(request.keysJson),
    start: new Date(request.start),
    end: new Date(request.end),
    ...(platform && { platform }),
  })) {
    out.push({ code: f.code, object: f.object, severity: f.severity, ...(f.expected !== undefined && { expected: f.expected }), ...(f.actual !== undefined && { actual: f.actual }) });
  }
  return out;
}

/** What a platform makes of the real AWS digest and keys. */
export interface AwsSeen {
  sha256: string;
  keys: Array<{ fingerprint: string; format: string; modulusBits: number }>;
  /** The digest's key fingerprint, and the fields read around it. */
  fields: { fingerprint: string; end: string; logFiles: number; previousSignature: string | null };
  /** Each key, given a well-formed signature that is not the right one: false, never an error. */
  wrongSignature: boolean[];
}

/** Parse the real AWS digest, load the real keys, and run RSA on each key. */
export async function awsVectors(lib: typeof Lib, digestText: string, keysJson: string, platform?: Lib.Platform): Promise<AwsSeen> {
  const digest = lib.parseDigest(new TextEncoder().encode(digestText), 'aws digest', platform);
  const keys = lib.PublicKeySet.fromListPublicKeys(keysJson);
  const wrongSignature: boolean[] = [];
  for (const k of keys) {
    const text = lib.stringToSign(digest.record, digest.sha256);
    wrongSignature.push(await lib.verifyString(k, text, '01'.repeat(k.modulusBits / 8), platform));
  }
  return {
    sha256: digest.sha256,
    keys: [...keys].map((k) => ({ fingerprint: k.fingerprint, format: k.format, modulusBits: k.modulusBits })),
    fields: {
      fingerprint: digest.record.digestPublicKeyFingerprint,
      end: digest.endTime.toISOString(),
      logFiles: digest.record.logFiles.length,
      previousSignature: digest.record.previousDigestSignature,
    },
    wrongSignature,
  };
}

/** Hash and inflate gzip objects `rounds` times; the throughput in MB/s of content. */
export async function throughput(lib: typeof Lib, objects: string[], rounds: number, platform?: Lib.Platform): Promise<{ mbps: number; bytes: number; sha256: string[] }> {
  const bodies = objects.map(decode);
  let bytes = 0;
  let sha256: string[] = [];
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    sha256 = [];
    for (const b of bodies) {
      const h = await lib.hashStream([b], { gzip: true, sizeHint: b.byteLength, ...(platform && { platform }) });
      bytes += h.size;
      sha256.push(h.sha256);
    }
  }
  const ms = performance.now() - t0;
  return { mbps: bytes / 2 ** 20 / (ms / 1000), bytes, sha256 };
}
