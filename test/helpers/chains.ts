// A trail's chain written into a local copy of a bucket, as CloudTrail delivers it: one log file
// and one signed digest an hour.
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LocalDirectory, createSigner, logKey, writeDigests, type TrailRef } from './lib.js';

/**
 * Write `hours` hours of a trail's chain from `t0` under `root`: the log of hour h is named
 * `L<h, 15 digits>` and delivered at h:30 (its file time too), the digests end on each hour.
 */
export async function writeHourlyChain(root: string, o: { bucket: string; trail: TrailRef; t0: number; hours: number; signer: Awaited<ReturnType<typeof createSigner>> }): Promise<void> {
  const hour = (h: number): Date => new Date(o.t0 + h * 3_600_000);
  for (let h = 0; h < o.hours; h++) {
    const at = hour(h + 0.5);
    const path = join(root, logKey(o.trail, at, `L${String(h).padStart(15, '0')}`));
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, gzipSync(`{"Records":[{"eventTime":"${at.toISOString().slice(0, 19)}Z","awsRegion":"${o.trail.region}"}]}`));
    utimesSync(path, at, at);
  }
  await writeDigests({ storage: new LocalDirectory(root, { bucket: o.bucket }), bucket: o.bucket, trail: o.trail, signer: o.signer, until: hour(o.hours) });
}
