/**
 * What the workloads share: warming a pool up, timing, and closing it whatever happens.
 */
import { performance } from 'node:perf_hooks';
import type { PoolUnderTest } from '../peers/types';

/** Time for late children to finish booting after the warm-up calls. */
const WARM_UP_SETTLE_MS = 100;

export const now = (): number => performance.now();

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Before a timed run: a few tiny calls, so that children have booted and loaded the task module, then a
 * pause for any child that got none of them. Tiny calls, not slow ones, so that no pool starts the run
 * tuned for long tasks.
 */
export async function warmUp(pool: PoolUnderTest, workers: number): Promise<void> {
  await Promise.all(Array.from({ length: 2 * workers }, (_, i) => pool.call('tiny', i)));
  await delay(WARM_UP_SETTLE_MS);
}

/** Run `body` with a pool and close the pool afterwards, also when `body` throws. */
export async function withPool<T>(pool: PoolUnderTest, body: (pool: PoolUnderTest) => Promise<T>): Promise<T> {
  try {
    return await body(pool);
  } finally {
    await pool.close();
  }
}

/** Seconds between two `now()` readings. */
export function seconds(start: number, end: number): number {
  return (end - start) / 1000;
}
