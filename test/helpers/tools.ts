// The external programs some tests need (the AWS CLI, Chromium, openssl), and one rule for when
// one is missing or too old: under CI (CI=true or CI=1) the tests that need it FAIL, naming the
// program and how to install it; elsewhere they are skipped, and the reason is printed once.
// A test never passes or disappears quietly because a program was not there.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Whether this run is CI's: `CI=true` or `CI=1` (any case); `CI=false`, `CI=0` or unset is not. */
export const underCi = /^(true|1)$/i.test(process.env.CI ?? '');

/** What tests that need one program can do in this run. */
export interface Requirement {
  /** Why the program cannot be used here; undefined when it can. */
  readonly missing: string | undefined;
  /** True when the tests should be skipped: the program is missing and this is not CI. */
  readonly skip: boolean;
  /** Throw the full message (program, why, how to install) when it is missing; call it where the tests start. */
  check(): void;
}

const announced = new Set<string>();

/** The one line that says a program is missing: which, why, and how to install it. */
const missingLine = (name: string, missing: string, install: string): string =>
  `${underCi ? 'CI=true: ' : ''}${name} is needed by these tests and cannot be used: ${missing}. Install it: ${install}`;

/**
 * The requirement of tests on `name`, given why it is unusable (`missing`, undefined when usable)
 * and how to get it (`install`). Without CI a missing program is announced once on the console
 * and `skip` is true; under CI `skip` is false, so the tests run and fail at `check()`.
 */
export function requireTool(name: string, missing: string | undefined, install: string): Requirement {
  const message = missing && missingLine(name, missing, install);
  if (message && !underCi && !announced.has(name)) {
    announced.add(name);
    console.warn(`SKIPPED (not under CI=true): ${message}`);
  }
  return {
    missing,
    skip: missing !== undefined && !underCi,
    check() {
      if (message) throw new Error(message);
    },
  };
}

/** Debian's Chromium, or the one CHROMIUM_PATH names. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless Chromium for the browser tests (driven by playwright-core). */
export const chromiumRequirement = (): Requirement =>
  requireTool('Chromium', existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH to another)`, 'apt-get install chromium (Debian), or set CHROMIUM_PATH');

/** Why the `openssl` on PATH cannot make the keys, certificates and time stamps the tests need (OpenSSL 3.0+), or undefined. */
export function opensslMissing(): string | undefined {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'no openssl on PATH';
  const v = /^OpenSSL (\d+)\./.exec(r.stdout);
  if (!v) return `unrecognised openssl: ${r.stdout.trim()} (OpenSSL 3.0+ is needed: Ed25519 with -rawin, ts)`;
  return +v[1]! >= 3 ? undefined : `${r.stdout.trim()} is too old (OpenSSL 3.0+ is needed: Ed25519 with -rawin, ts)`;
}

let opensslChecked = false;

/**
 * Stop with one clear line when openssl is missing or too old (in every run: the tests that make
 * keys with it cannot go on without it). Called by every helper and test that runs openssl.
 */
export function needOpenssl(): void {
  if (opensslChecked) return;
  const missing = opensslMissing();
  if (missing) throw new Error(missingLine('openssl', missing, 'apt-get install openssl (Debian), OpenSSL 3.0 or later'));
  opensslChecked = true;
}

/** Run openssl (after {@link needOpenssl}) and return what it printed. */
export function openssl(args: string[], options: { cwd?: string; stdio?: 'ignore' } = {}): string {
  needOpenssl();
  return execFileSync('openssl', args, { ...options, encoding: 'utf8' }) ?? '';
}
