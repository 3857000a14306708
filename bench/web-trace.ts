// The auditor's page on a folder of many small files, traced: the folder dropped on the page (or
// picked through the file input) and validated, the browser's trace recorded (the DevTools
// protocol's tracing, devtools.timeline categories) from the click on Validate to 300 ms after
// the verdict, and each long task (over 50 ms) of the page's thread taken apart: its wall time
// and the thread's CPU time in it (a task that waits, for the browser process or for a core on a
// loaded machine, has far less CPU than wall time), and what it spent its time on (style, layout,
// paint, garbage collection, the page's scripts by entry; with --profile, V8's samples name the
// functions, at some cost to every task), exclusive times. --dir serves another build of the page
// (a copy of dist/web made before a change) instead of building this one.
//
//   npx tsx bench/web-trace.ts [--files 10000] [--rounds 3] [--way drop|input] [--over 50] [--profile] [--dir DIR]
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { serveStatic } from '../scripts/serve-web.mjs';
import { browserMissing, buildPage, dropFolder, launch, pickFolder, runToEnd, WEB_DIR } from '../test/helpers/page.ts';
import { corpus, type Corpus } from './corpus.ts';

/** A trace event, as much of it as is read here. */
interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: { name?: string; data?: Record<string, unknown>; beginData?: Record<string, unknown> };
}

/** One long task of the page's thread, taken apart. */
export interface TracedTask {
  /** When it began, ms after the click's task. */
  at: number;
  /** How long, ms. */
  ms: number;
  /** The thread's CPU time in it, ms (where the trace has it). */
  cpu?: number;
  /** Exclusive time by what it was spent on, ms, largest first. */
  parts: Array<[string, number]>;
}

/** The trace's categories: the DevTools timeline's, V8's and its collector's (the CPU profiler's samples with --profile). */
const categories = (profile: boolean): string[] => [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'disabled-by-default-devtools.timeline.frame',
  'toplevel',
  'v8.execute',
  'v8',
  'disabled-by-default-v8.gc',
  'blink.user_timing',
  ...(profile ? ['disabled-by-default-v8.cpu_profiler'] : []),
];

/** A name for what an event spent its time on. */
function label(e: TraceEvent): string {
  const d = e.args?.data ?? e.args?.beginData ?? {};
  if (e.name === 'FunctionCall') return `script ${String(d.functionName || '(anonymous)')} ${String(d.url ?? '').replace(/^.*\//, '')}:${String(d.lineNumber ?? '')}`;
  if (e.name === 'EventDispatch') return `event ${String(d.type)}`;
  if (e.name === 'TimerFire') return 'timer';
  if (e.name === 'FireAnimationFrame') return 'animation frame callback';
  if (e.name === 'v8.compile' || e.name === 'v8.compileModule' || e.name === 'CompileScript') return 'compile';
  if (e.name === 'EvaluateScript' || e.name === 'v8.evaluateModule') return 'evaluate script';
  if (/GC|Scavenge|MarkCompact|V8.GC/i.test(e.name)) return `gc ${e.name}`;
  return e.name;
}

/** The JavaScript samples of one thread (the V8 CPU profiler's trace events): time and function. */
function profileSamples(events: TraceEvent[], pid: number, tid: number): Array<{ ts: number; fn: string }> {
  const nodes = new Map<number, string>();
  const out: Array<{ ts: number; fn: string }> = [];
  const byId = new Map<string, number>();
  for (const e of events) {
    if (e.pid !== pid) continue;
    const d = e.args?.data as { startTime?: number; cpuProfile?: { nodes?: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>; samples?: number[] }; timeDeltas?: number[] } | undefined;
    const id = String((e as unknown as { id: string }).id);
    if (e.name === 'Profile' && e.tid === tid) byId.set(id, d?.startTime ?? e.ts);
    if (e.name !== 'ProfileChunk' || !byId.has(id)) continue;
    for (const n of d?.cpuProfile?.nodes ?? []) nodes.set(n.id, `${n.callFrame.functionName || '(anonymous)'} ${(n.callFrame.url ?? "").replace(/^.*\//, '')}:${n.callFrame.lineNumber}`);
    let ts = byId.get(id)!;
    const deltas = d?.timeDeltas ?? [];
    (d?.cpuProfile?.samples ?? []).forEach((s, i) => {
      ts += deltas[i] ?? 0;
      out.push({ ts, fn: nodes.get(s) ?? String(s) });
    });
    byId.set(id, ts);
  }
  return out.sort((a, b) => a.ts - b.ts);
}

/** Samples by function within a time span, as ms (each sample standing for the time to the next). */
function samplesIn(samples: Array<{ ts: number; fn: string }>, from: number, to: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    if (s.ts < from || s.ts >= to || /\(idle\)|\(program\)|\(root\)/.test(s.fn)) continue;
    const next = Math.min(samples[i + 1]?.ts ?? to, to);
    out.set(s.fn, (out.get(s.fn) ?? 0) + (next - s.ts) / 1000);
  }
  return out;
}

/** The long tasks of the page's main thread in a trace, each taken apart by exclusive time. */
export function longTasksOf(events: TraceEvent[], over: number): TracedTask[] {
  // The page's thread: the renderer main thread that dispatched the submit.
  const submit = events.find((e) => e.name === 'EventDispatch' && e.args?.data?.type === 'submit');
  if (!submit) throw new Error('no submit in the trace');
  const main = events.filter((e) => e.pid === submit.pid && e.tid === submit.tid && e.ph === 'X' && e.dur !== undefined);
  main.sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  const tasks: TraceEvent[] = [];
  for (const e of main) {
    if (e.name !== 'RunTask' && e.name !== 'ThreadControllerImpl::RunTask') continue;
    const last = tasks[tasks.length - 1];
    if (last && e.ts < last.ts + last.dur!) continue; // nested in the one before
    tasks.push(e);
  }
  const samples = profileSamples(events, submit.pid, submit.tid);
  const clickTask = tasks.filter((t) => t.ts <= submit.ts && t.ts + t.dur! >= submit.ts + submit.dur!).pop();
  const zero = clickTask?.ts ?? submit.ts;
  const out: TracedTask[] = [];
  for (const t of tasks) {
    if (t.dur! / 1000 <= over || t.ts < zero) continue;
    const inner = main.filter((e) => e !== t && e.ts >= t.ts && e.ts + e.dur! <= t.ts + t.dur! && e.name !== 'RunTask' && e.name !== 'ThreadControllerImpl::RunTask');
    // Exclusive time: each event's duration less its direct children's (nesting by containment).
    const self = new Map<string, number>();
    const stack: Array<{ e: TraceEvent; child: number }> = [];
    const close = (upTo: number): void => {
      while (stack.length > 0 && stack[stack.length - 1]!.e.ts + stack[stack.length - 1]!.e.dur! <= upTo) {
        const { e, child } = stack.pop()!;
        const key = label(e);
        self.set(key, (self.get(key) ?? 0) + (e.dur! - child));
        if (stack.length > 0) stack[stack.length - 1]!.child += e.dur!;
      }
    };
    let top = 0;
    for (const e of inner) {
      close(e.ts);
      if (stack.length === 0) top += e.dur!;
      stack.push({ e, child: 0 });
    }
    close(Infinity);
    self.set('(task, outside any event)', t.dur! - top);
    for (const [k, n] of samplesIn(samples, t.ts, t.ts + t.dur!)) self.set(`  js ${k}`, n * 1000);
    const parts = [...self].map(([k, v]) => [k, v / 1000] as [string, number]).filter(([, v]) => v >= 0.5).sort((a, b) => b[1] - a[1]);
    const tdur = (t as unknown as { tdur?: number }).tdur;
    out.push({ at: (t.ts - zero) / 1000, ms: t.dur! / 1000, ...(tdur !== undefined && { cpu: tdur / 1000 }), parts });
  }
  return out;
}

async function oneRound(browser: Browser, url: string, c: Corpus, way: 'drop' | 'input', over: number, profile: boolean): Promise<{ runMs: number; tasks: TracedTask[] }> {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  try {
    await page.goto(url);
    await page.waitForFunction(() => true);
    await (way === 'drop' ? dropFolder(page, dirname(c.dir)) : pickFolder(page, dirname(c.dir)));
    await browser.startTracing(page, { categories: categories(profile), screenshots: false });
    const runMs = await runToEnd(page, 600_000);
    await page.waitForTimeout(300);
    const trace = JSON.parse((await browser.stopTracing()).toString('utf8')) as { traceEvents: TraceEvent[] };
    return { runMs, tasks: longTasksOf(trace.traceEvents, over) };
  } finally {
    await page.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const { values } = parseArgs({ options: { files: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '3' }, way: { type: 'string', default: 'drop' }, over: { type: 'string', default: '50' }, profile: { type: 'boolean', default: false }, dir: { type: 'string' } } });
  const missing = browserMissing();
  if (missing) throw new Error(missing);
  const failed = values.dir ? undefined : await buildPage();
  if (failed) throw new Error(failed);
  const c = await corpus('pagefolder', Number(values.files), 1500, 10);
  const server = await serveStatic(values.dir ?? WEB_DIR);
  const browser = await launch();
  try {
    for (let i = 0; i < Number(values.rounds); i++) {
      const r = await oneRound(browser, server.url, c, values.way as 'drop' | 'input', Number(values.over), values.profile);
      process.stdout.write(`round ${i + 1}: click to verdict ${(r.runMs / 1000).toFixed(1)} s, ${r.tasks.length} task(s) over ${values.over} ms\n`);
      for (const t of r.tasks) {
        process.stdout.write(`  at ${t.at.toFixed(0)} ms: ${t.ms.toFixed(1)} ms${t.cpu === undefined ? '' : ` (CPU ${t.cpu.toFixed(1)} ms)`}\n`);
        for (const [k, v] of t.parts.slice(0, 24)) process.stdout.write(`    ${v.toFixed(1).padStart(6)} ms  ${k}\n`);
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
}
