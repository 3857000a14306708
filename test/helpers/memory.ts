// A bucket held in memory, loaded from a local copy: fast enough for property tests that run
// the verifier hundreds of times.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { FetchedObject, ListedObject, ObjectSource } from './lib.js';

export class MemoryBucket implements ObjectSource {
  readonly objects = new Map<string, Uint8Array>();
  readonly metadata = new Map<string, Record<string, string>>();

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

  async *list(_bucket: string, prefix: string, startAfter?: string): AsyncGenerator<ListedObject> {
    for (const key of [...this.objects.keys()].sort()) {
      if (key.startsWith(prefix) && (startAfter === undefined || key > startAfter)) yield { key, size: this.objects.get(key)!.length };
    }
  }

  async get(_bucket: string, key: string, options: { metadata?: boolean } = {}): Promise<FetchedObject | undefined> {
    const body = this.objects.get(key);
    if (!body) return undefined;
    return { body: (async function* () { yield body; })(), size: body.length, ...(options.metadata && { metadata: this.metadata.get(key) ?? {} }) };
  }
}
