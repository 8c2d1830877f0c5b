/**
 * How many tasks a child keeps asked for, and when it sends its finished results.
 *
 * A child asks for one task at a time, so that the parent keeps every task it has not handed out and can
 * give it to whichever child is free first. Only a child that finds its tasks much shorter than a round
 * trip asks for more at a time, to keep busy while its answers travel, and answers several in one message.
 * Tasks it holds ahead are not lost to balancing: the parent takes back those it has not begun (see
 * src/shared/progress-page.ts).
 */

/** Tasks asked for at first, and at least ever after. */
const MIN_WINDOW = 1;
/** At most: below the progress page's SLOT_COUNT, which must exceed what a child holds. */
const MAX_WINDOW = 64;
/** The window holds about this much work, by the recent average task duration (a round trip is ~0.1 ms). */
const BUFFERED_WORK_MS = 1;
/** Finished results wait at most this long for others to share their message. */
const MAX_RESULT_DELAY_MS = 2;
/** Weight of the newest duration in the running average. */
const SMOOTHING = 0.2;
/** A function whose calls take less than this on average is tiny: results may wait for others behind it. */
const TINY_MS = BUFFERED_WORK_MS / 4;

export class CreditWindow {
  /** Credits handed to the parent and not yet answered by a result. */
  size = MIN_WINDOW;
  /** A start that assumes long tasks: the window widens only on evidence. */
  #averageMs = BUFFERED_WORK_MS;
  /** The same average for each task function (by TaskSpec id). */
  readonly #averageByFn = new Map<number, number>();

  record(fn: number, durationMs: number): void {
    this.#averageMs += SMOOTHING * (durationMs - this.#averageMs);
    const average = this.#averageByFn.get(fn) ?? durationMs;
    this.#averageByFn.set(fn, average + SMOOTHING * (durationMs - average));
  }

  /** Whether calls of this function have proved tiny, so that a finished result may wait behind one. */
  knownTiny(fn: number): boolean {
    return (this.#averageByFn.get(fn) ?? Infinity) < TINY_MS;
  }

  /**
   * Send now when a quarter of the window is waiting for its answer (the parent would run short of the
   * child's credits), or the oldest result has waited long enough.
   */
  shouldFlush(unsent: number, oldestAgeMs: number): boolean {
    return unsent >= Math.ceil(this.size / 4) || oldestAgeMs >= MAX_RESULT_DELAY_MS;
  }

  /** `answered` tasks are being answered: how many tasks to ask for with them. */
  refill(answered: number): number {
    const target = Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, Math.floor(BUFFERED_WORK_MS / this.#averageMs)));
    // The window shrinks only by asking for fewer than were answered.
    const credits = Math.max(0, answered + target - this.size);
    this.size += credits - answered;
    return credits;
  }
}
