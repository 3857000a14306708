#!/usr/bin/env python3
# The C baseline: the machine's limit for gunzip + SHA-256 over a set of files, in C code reached
# through Python's standard library (zlib, hashlib: OpenSSL's SHA-256). The same work as
# bench/native.mjs, the same way: one process per core, each taking its share of the files
# (largest first, to the least loaded), a small file read and inflated in one call, a large one
# streamed. Nothing else: no listing, no digests, no checks. The time is from the first process
# starting its work to the last one ending it (process start-up is not counted). Prints one JSON
# line with the processes' CPU time and peak RSS summed.
# Usage: python3 bench/native-c.py PROCESSES @LISTFILE   (one file path a line)
import hashlib
import json
import multiprocessing
import os
import resource
import sys
import time
import zlib

SMALL = 1 << 20
CHUNK = 1 << 20


def small(path):
    with open(path, 'rb') as f:
        out = zlib.decompress(f.read(), 47)  # 32 + 15: gzip or zlib header
    hashlib.sha256(out).hexdigest()
    return len(out)


def large(path):
    h = hashlib.sha256()
    d = zlib.decompressobj(47)
    n = 0
    with open(path, 'rb') as f:
        while True:
            block = f.read(CHUNK)
            if not block:
                break
            out = d.decompress(block)
            n += len(out)
            h.update(out)
    out = d.flush()
    n += len(out)
    h.update(out)
    h.hexdigest()
    return n


def peak_rss_kb():
    """Peak resident memory of this process (VmHWM), not counting its parent's before the fork."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(files, conn):
    start = time.time()
    cpu0 = os.times()
    n = 0
    for path, size in files:
        n += small(path) if size < SMALL else large(path)
    end = time.time()
    cpu1 = os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    conn.send({'start': start, 'end': end, 'bytes': n, 'cpuMs': cpu * 1000, 'rssKB': peak_rss_kb()})
    conn.close()


def main():
    processes = int(sys.argv[1])
    with open(sys.argv[2][1:]) as f:
        files = [line for line in f.read().split('\n') if line]
    shares = [{'files': [], 'bytes': 0} for _ in range(processes)]
    for path, size in sorted(((p, os.stat(p).st_size) for p in files), key=lambda x: -x[1]):
        share = min(shares, key=lambda s: s['bytes'])
        share['files'].append((path, size))
        share['bytes'] += size
    ctx = multiprocessing.get_context('fork')
    pipes = []
    for share in shares:
        parent, sub = ctx.Pipe(duplex=False)
        p = ctx.Process(target=child, args=(share['files'], sub))
        p.start()
        sub.close()
        pipes.append((p, parent))
    results = []
    for p, parent in pipes:
        results.append(parent.recv())
        p.join()
        if p.exitcode != 0:
            raise SystemExit(f'a baseline process exited with {p.exitcode}')
    ms = (max(r['end'] for r in results) - min(r['start'] for r in results)) * 1000
    sys.stdout.write(json.dumps({
        'ms': ms,
        'bytes': sum(r['bytes'] for r in results),
        'files': len(files),
        'processes': processes,
        'cpuMs': sum(r['cpuMs'] for r in results),
        'maxRssKB': sum(r['rssKB'] for r in results),
    }) + '\n')


if __name__ == '__main__':
    main()
