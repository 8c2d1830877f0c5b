/**
 * How many chunks of a call go into one job. Every job costs BullMQ and Redis about the same whatever it
 * carries, so a job of chunks that each take a fraction of a millisecond would cost more than its chunks:
 * packs are sized by time, as joblib's automatic batch size is, from how long a function's chunks took on
 * their hosts lately.
 */

/** Chunks in one job at most. */
export const MAX_PACK = 128;
/** A full pack holds as many chunks as its host runs in about this long (ms), ... */
export const PACK_MS = 20;
/** ... and whose results take about this many bytes at most. */
export const PACK_RESULT_BYTES = 4 * 2 ** 20;
/** Functions whose chunk times are kept at most; the oldest are forgotten. */
const KNOWN_WORK = 1000;
/** The weight of the newest job in a function's chunk time. */
const NEWEST = 0.3;

export class PackSizes {
  /**
   * What a host took per chunk of each function, lately, in ms and in bytes of results: averages that lean
   * to the newest jobs.
   */
  readonly #perChunk = new Map<string, { ms: number; bytes: number }>();

  /** A host ran a job of `chunks` chunks of `work` in `ms`, and their results took `bytes`. */
  learn(work: string, chunks: number, ms: number, bytes: number): void {
    const known = this.#perChunk.get(work);
    const lately = (old: number | undefined, value: number) => (old === undefined ? value : old * (1 - NEWEST) + value * NEWEST);
    // Kept in the order they were last learned, to forget the oldest.
    this.#perChunk.delete(work);
    this.#perChunk.set(work, { ms: lately(known?.ms, ms / chunks), bytes: lately(known?.bytes, bytes / chunks) });
    if (this.#perChunk.size > KNOWN_WORK) this.#perChunk.delete(this.#perChunk.keys().next().value!);
  }

  /**
   * The size of a call's next pack, `waiting` of its chunks waiting and the hosts having `processes`
   * processes, and the size of a full pack of its function: as many chunks as a host runs in PACK_MS, whose
   * results take no more than PACK_RESULT_BYTES (one while nothing is known of the function). The next pack holds no more than each process's share of those
   * waiting, so that the last jobs of a call are small and no host waits long on another at its end, but no
   * fewer than a quarter of a full pack, so that they still carry more than they cost.
   */
  next(work: string, waiting: number, processes: number): [size: number, full: number] {
    const full = this.full(work);
    return [Math.min(full, Math.max(Math.ceil(full / 4), Math.ceil(waiting / Math.max(1, processes)))), full];
  }

  /** The chunks of `work` in a full pack. */
  full(work: string): number {
    const known = this.#perChunk.get(work);
    if (known === undefined) return 1;
    const byTime = PACK_MS / Math.max(known.ms, 0.001);
    const byBytes = PACK_RESULT_BYTES / Math.max(known.bytes, 1);
    return Math.max(1, Math.min(MAX_PACK, Math.floor(byTime), Math.floor(byBytes)));
  }
}
