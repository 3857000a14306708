// Running the built commands as a user runs them: a child process, real files, real exit codes.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, tampering } from './tamper.js';

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export const VALIDATE = join(ROOT, 'dist', 'cli', 'validate-logs.js');
export const WRITE = join(ROOT, 'dist', 'cli', 'write-digests.js');

/**
 * Run a command asynchronously (never spawnSync: servers in this process must keep answering).
 * With `timeoutMs`, a command that outlives it is killed (status null): a hang fails the test.
 */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT, timeoutMs?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const limit = timeoutMs === undefined ? {} : { timeout: timeoutMs, killSignal: 'SIGKILL' as const };
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...limit });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export const node = (script: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Run> => run(process.execPath, [script, ...args], env);

/** The validate-logs arguments for the sample trail on `dir`. */
export function sampleArgs(dir: string, extra: string[] = []): string[] {
  const t = tampering.trail;
  return ['--trail-arn', t.trailArn, '--start-time', t.start, '--end-time', t.end, '--local-dir', dir, '--s3-bucket', t.bucket, '--public-keys', join(ROOT, t.publicKeys), ...extra];
}
