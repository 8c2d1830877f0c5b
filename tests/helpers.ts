/**
 * Shared by the tests: fixture paths and checks that no child outlives its pool.
 */
import path from 'node:path';

export const FIXTURES = path.join(__dirname, 'fixtures');

/** Absolute path of a file in tests/fixtures. */
export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** Whether a process with this pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed child stays a zombie until reaped; kill(pid, 0) still succeeds on one.
  try {
    const stat = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8') as string;
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Poll until `condition` holds, or fail after `timeout` ms. */
export async function waitFor(condition: () => boolean, timeout = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
