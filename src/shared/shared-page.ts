/**
 * The progress page of a worker thread: the protocol of progress-page.ts (Dekker's claim and revoke over a
 * STARTED word and revocation slots) over a SharedArrayBuffer that the pool and the thread both hold.
 *
 *     thread, before it runs task s:   STARTED := s;    if SLOT(s) = s, skip the task
 *     pool, to take task s back:       SLOT(s) := s;    the task is the pool's if STARTED < s
 *
 * Dekker's argument needs each side's write to be seen by the other before its own read: `Atomics.store`
 * and `Atomics.load` are sequentially consistent, which is exactly that (plain reads and writes of a shared
 * buffer are not, and may be reordered).
 *
 * The words are 64-bit (a BigInt64Array): `seq` numbers grow without bound over a thread's life, and a word
 * that wrapped would make STARTED < s lie. A claim costs two BigInts and two atomic operations, tens of
 * nanoseconds.
 */
import type { Claimer, ProgressPage } from './progress-page';
import { SLOT_COUNT } from './progress-page';

const STARTED_AT = 0;

function slotAt(seq: number): number {
  return 1 + (seq % SLOT_COUNT);
}

/** The memory of a page: hand it to the thread (in `workerData`), which claims on it. */
export function createPageMemory(): SharedArrayBuffer {
  return new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT * (1 + SLOT_COUNT));
}

/** The thread's side: claim task `seq` before running it. */
export class SharedPageClaimer implements Claimer {
  readonly #words: BigInt64Array;

  constructor(memory: SharedArrayBuffer) {
    this.#words = new BigInt64Array(memory);
  }

  claim(seq: number): boolean {
    const s = BigInt(seq);
    Atomics.store(this.#words, STARTED_AT, s);
    return Atomics.load(this.#words, slotAt(seq)) !== s;
  }
}

/** The pool's side, for one thread. */
export class SharedPage implements ProgressPage {
  /** No descriptor: the thread is handed the memory itself. */
  readonly fd = undefined;
  readonly memory: SharedArrayBuffer;
  readonly #words: BigInt64Array;

  constructor(memory: SharedArrayBuffer = createPageMemory()) {
    this.memory = memory;
    this.#words = new BigInt64Array(memory);
  }

  started(): number {
    return Number(Atomics.load(this.#words, STARTED_AT));
  }

  revoke(seq: number): boolean {
    Atomics.store(this.#words, slotAt(seq), BigInt(seq));
    return Atomics.load(this.#words, STARTED_AT) < BigInt(seq);
  }

  close(): void {
    // Memory: the garbage collector frees it once neither side holds it.
  }
}
