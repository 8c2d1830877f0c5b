/**
 * Task module for the threads example: work on large arrays of numbers, which threads can move or share
 * rather than copy.
 */
import { transfer } from 'forkpool/task';

/** The mean square of `samples` (their power), moved here by the caller. */
export function power(samples: Float64Array): number {
  let sum = 0;
  for (const x of samples) sum += x * x;
  return sum / samples.length;
}

/** `count` samples of a sine wave, moved back to the caller rather than copied. */
export function sine(count: number, period: number): Float64Array {
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) samples[i] = Math.sin((2 * Math.PI * i) / period);
  return transfer(samples, [samples.buffer]);
}

/** Square the items from `start` to `end` of an array over shared memory, in place. */
export function squareInPlace(shared: Float64Array, start: number, end: number): number {
  for (let i = start; i < end; i++) shared[i] *= shared[i];
  return end - start;
}

/** Which worker runs item `n`: a thread (its threadId) or a child process (its pid). */
export function whoAmI(n: number): string {
  const { isMainThread, threadId } = require('node:worker_threads') as typeof import('node:worker_threads');
  return `${n} in ${isMainThread ? `process ${process.pid}` : `thread ${threadId} of process ${process.pid}`}`;
}
