/**
 * Task module for examples/progress.ts: a slow job made of steps, which reports how far it has got with
 * `emit` (from `forkpool/task`) while it runs.
 */
import { createHash } from 'node:crypto';
import { emit } from 'forkpool/task';

export interface StepEvent {
  file: string;
  /** Fraction of this file done, 0 to 1. */
  done: number;
}

/** Stand-in for real work on `file` (say, making its thumbnails): `steps` rounds of hashing. */
export function makeThumbnails(file: string, steps = 10): { file: string; digest: string } {
  let digest = file;
  for (let step = 1; step <= steps; step++) {
    for (let round = 0; round < 5_000; round++) digest = createHash('sha256').update(digest).digest('hex');
    emit({ file, done: step / steps } satisfies StepEvent);
  }
  return { file, digest: digest.slice(0, 12) };
}
