// A bucket held in memory, loaded from a local copy, as records to change and a MemorySource to
// verify: fast enough for property tests that run the verifier hundreds of times.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { MemorySource, type MemoryRecord } from './lib.js';

export class MemoryBucket {
  readonly objects = new Map<string, Uint8Array>();
  readonly metadata = new Map<string, Record<string, string>>();

  /** Objects of a local copy: `.metadata.json` sidecars become the metadata of their objects. */
  static fromDir(dir: string): MemoryBucket {
    const m = new MemoryBucket();
    const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
    for (const f of walk(dir)) {
      const key = relative(dir, f).split(sep).join('/');
      if (key.endsWith('.metadata.json')) m.metadata.set(key.slice(0, -'.metadata.json'.length), JSON.parse(readFileSync(f, 'utf8')) as Record<string, string>);
      else m.objects.set(key, new Uint8Array(readFileSync(f)));
    }
    return m;
  }

  clone(): MemoryBucket {
    const m = new MemoryBucket();
    for (const [k, v] of this.objects) m.objects.set(k, v);
    for (const [k, v] of this.metadata) m.metadata.set(k, { ...v });
    return m;
  }

  records(): MemoryRecord[] {
    return [...this.objects].map(([key, bytes]) => ({ key, bytes, ...(this.metadata.has(key) && { metadata: this.metadata.get(key)! }) }));
  }

  source(bucket: string): MemorySource {
    return new MemorySource(this.records(), { bucket });
  }
}
