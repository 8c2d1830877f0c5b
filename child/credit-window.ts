/**
 * How many tasks a child keeps asked for, and when it sends its finished results.
 *
 * A task of a few microseconds costs less than the message that carries it, so a child that finds its
 * tasks tiny asks for more at a time and answers several in one message; one with longer tasks keeps two
 * (one running, one waiting) so that the parent can still spread the work across children, and answers
 * each task at once.
 */

import { maxUnsentResults } from '../src/shared/protocol';

/** Tasks asked for at first, and at least ever after. */
const MIN_WINDOW = 2;
const MAX_WINDOW = 64;
/** The window holds about this much work, by the recent average task duration. */
const BUFFERED_WORK_MS = 1;
/** Finished results wait at most this long for others to share their message. */
const MAX_RESULT_DELAY_MS = 2;
/** Weight of the newest duration in the running average. */
const SMOOTHING = 0.2;

export class CreditWindow {
  /** Credits handed to the parent and not yet answered by a result. */
  size = MIN_WINDOW;
  #averageMs = BUFFERED_WORK_MS;

  record(durationMs: number): void {
    this.#averageMs += SMOOTHING * (durationMs - this.#averageMs);
  }

  /** Send now when holding more back is not allowed, or the oldest result has waited long enough. */
  shouldFlush(unsent: number, oldestAgeMs: number): boolean {
    return unsent > maxUnsentResults(this.size) || oldestAgeMs >= MAX_RESULT_DELAY_MS;
  }

  /** `answered` results are being sent: how many tasks to ask for with them. */
  refill(answered: number): number {
    const target = Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, Math.round(BUFFERED_WORK_MS / this.#averageMs)));
    // The window shrinks only by asking for fewer than were answered.
    const credits = Math.max(0, answered + target - this.size);
    this.size += credits - answered;
    return credits;
  }
}
