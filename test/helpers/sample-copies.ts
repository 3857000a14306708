// Copies of the sample bucket for a test file, each removed after the test that made it.
import { afterEach } from 'vitest';
import { copySample } from './tamper.js';

/**
 * Register, in the calling test file, the removal of every copy made during a test once it ends.
 * @returns a function that makes a copy of the sample bucket and returns its folder
 */
export function sampleCopies(): () => string {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    while (cleanups.length) cleanups.pop()!();
  });
  return () => {
    const c = copySample();
    cleanups.push(c.cleanup);
    return c.dir;
  };
}
