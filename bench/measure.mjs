// Runs one of the project's commands (built, in dist/) in this fresh process and prints its
// time (`ms`: from the process's start, start-up and module loading included, as a user waits for
// it; `runMs`: the command's own, from its call to its return), CPU time (user + system: all its threads, and its main thread alone) and peak RSS as one
// JSON line; the command's own output is discarded.
// Usage: node bench/measure.mjs validate-logs|write-digests ARGS...
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const [command, ...args] = process.argv.slice(2);
// The validate-logs program's command (its bin, dist/cli/validate-logs.js, is the launcher that loads it).
const { validateLogsCommand } = await import('../dist/cli/validate-logs-command.js');
const { writeDigestsCommand } = await import('../dist/cli/write-digests.js');
const { keepHeapsSmall } = await import('../dist/cli/io.js');
const { holdYoungGeneration } = await import('../dist/cli/process.js');
const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
let errors = '';
const stderr = new Writable({
  write: (c, _e, cb) => {
    errors += c.toString();
    cb();
  },
});
const run = command === 'write-digests' ? writeDigestsCommand : validateLogsCommand;
// As the validate-logs program does when it starts.
if (run === validateLogsCommand) {
  keepHeapsSmall();
  holdYoungGeneration();
}
const cpu0 = process.cpuUsage(); // the process's: its threads included
const main0 = mainThreadCpuMs();
const t0 = performance.now();
const status = await run(args, { stdout: sink(), stderr, env: process.env, now: () => new Date() });
const end = performance.now();
const runMs = end - t0;
// performance.now() counts from the process's time origin: the whole process, start-up included.
const ms = end;
const cpu = process.cpuUsage(cpu0);
const main = mainThreadCpuMs();
const mainCpuMs = main !== undefined && main0 !== undefined ? main - main0 : undefined;
process.stdout.write(JSON.stringify({ status, ms, runMs, cpuMs: (cpu.user + cpu.system) / 1000, mainCpuMs, maxRssKB: peakRssKB(), errors: errors.slice(0, 500) }) + '\n');

/**
 * Peak resident memory of this program (VmHWM): unlike getrusage's maxRSS, it does not count the
 * memory of the process this one was forked from before it started.
 */
function peakRssKB() {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : process.resourceUsage().maxRSS;
}

/**
 * CPU time (user + system, ms, in steps of the kernel's clock tick) of this program's main
 * thread alone, where the system tells it (Linux's /proc); undefined elsewhere.
 */
function mainThreadCpuMs() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime; USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}
