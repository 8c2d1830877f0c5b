/**
 * The progress page: a few bytes shared by the parent and one child, through which the child says which
 * task it has begun and the parent takes back tasks the child has not begun. No message is involved, so the
 * parent gets its answer at once, even from a child stuck in a long synchronous task.
 *
 * The page is an unlinked file open in both processes (the child's copy is its stdio descriptor
 * {@link CHILD_PAGE_FD}). Positioned reads and writes go to the same page of the kernel's page cache, so each
 * side sees the other's write as soon as that write has returned.
 *
 * Tasks are numbered per child in the order the parent sends them (their `seq`, from 1), which is the order
 * the child runs them in. Claiming and revoking are Dekker's mutual exclusion over two words:
 *
 *     child, before it runs task s:    STARTED := s;    if SLOT(s) = s, skip the task
 *     parent, to take task s back:     SLOT(s) := s;    the task is the parent's if STARTED < s
 *
 * Each side writes before it reads, so they cannot both conclude that they own task s, provided its write is
 * visible to the other side before its read is served: a processor may satisfy a load before an earlier
 * store of its own has left its store buffer (x86 does), and nothing in two system calls one after the other
 * forbids it. A full fence between them (a sequentially consistent atomic operation) does. A parent that reads
 * STARTED >= s leaves the task to the child, which then either runs it or, having seen the slot, skips it
 * and says so in its next message; either way the task is neither lost nor run twice.
 */
import { closeSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';

/** The page's descriptor in the child: stdio 0-2, the IPC channel at 3, then the page. */
export const CHILD_PAGE_FD = 4;

/** Revocation slots, indexed by `seq` modulo their number: more than a child ever holds at once. */
export const SLOT_COUNT = 128;
const WORD = 8;
const STARTED_AT = 0;
const PAGE_SIZE = WORD * (1 + SLOT_COUNT);

function slotAt(seq: number): number {
  return WORD * (1 + (seq % SLOT_COUNT));
}

function writeWord(fd: number, buffer: Buffer, at: number, value: number): void {
  buffer.writeDoubleLE(value, 0);
  writeSync(fd, buffer, 0, WORD, at);
}

/** A location only for its atomic operations: each is a full memory fence. */
const FENCE = new Int32Array(new SharedArrayBuffer(4));

/** Order this thread's earlier stores, those made by the kernel in its system calls too, before its later loads. */
function fence(): void {
  Atomics.add(FENCE, 0, 1);
}

function readWord(fd: number, buffer: Buffer, at: number): number {
  readSync(fd, buffer, 0, WORD, at);
  return buffer.readDoubleLE(0);
}

/** A worker's side of its page: claim task `seq` before running it. False if the parent took it back first. */
export interface Claimer {
  claim(seq: number): boolean;
}

/** The child's side of a page that is a file. */
export class PageClaimer implements Claimer {
  readonly #fd: number;
  readonly #buffer = Buffer.alloc(WORD);

  constructor(fd: number) {
    this.#fd = fd;
  }

  claim(seq: number): boolean {
    writeWord(this.#fd, this.#buffer, STARTED_AT, seq);
    fence();
    return readWord(this.#fd, this.#buffer, slotAt(seq)) !== seq;
  }
}

/** The parent's side, for one child. */
export interface ProgressPage {
  /** The descriptor to hand the child, or undefined for a page that lives in this process only (tests). */
  readonly fd: number | undefined;
  /** The `seq` of the last task the child has claimed; 0 before its first. */
  started(): number;
  /** Take task `seq` back: true if the child had not claimed it and now never will. */
  revoke(seq: number): boolean;
  close(): void;
}

/** Directories for the page's file, memory-backed first. */
const PAGE_DIRS = ['/dev/shm'];

export class FilePage implements ProgressPage {
  readonly fd: number;
  readonly #buffer = Buffer.alloc(WORD);
  #closed = false;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /**
   * A fresh page, or undefined where no file can be made (no writable temporary directory, no descriptor
   * left); the child then runs without one (see {@link ChildHandle}).
   */
  static open(tmpdir: string): FilePage | undefined {
    for (const dir of [...PAGE_DIRS, tmpdir]) {
      const file = `${dir}/forkpool-page-${process.pid}-${nextPage++}`;
      let fd: number | undefined;
      try {
        fd = openSync(file, 'w+', 0o600);
        unlinkSync(file);
        ftruncateSync(fd, PAGE_SIZE);
        return new FilePage(fd);
      } catch {
        if (fd !== undefined) closeSync(fd);
      }
    }
    return undefined;
  }

  started(): number {
    return this.#closed ? Infinity : readWord(this.fd, this.#buffer, STARTED_AT);
  }

  revoke(seq: number): boolean {
    if (this.#closed) return false;
    writeWord(this.fd, this.#buffer, slotAt(seq), seq);
    fence();
    return readWord(this.fd, this.#buffer, STARTED_AT) < seq;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.fd);
  }
}

let nextPage = 1;

/** The same protocol in this process's memory, for a child simulated in tests. */
export class MemoryPage implements ProgressPage {
  readonly fd = undefined;
  #started = 0;
  readonly #slots = new Float64Array(SLOT_COUNT);

  /** The simulated child's claim, as {@link PageClaimer.claim}. */
  claim(seq: number): boolean {
    this.#started = seq;
    return this.#slots[seq % SLOT_COUNT] !== seq;
  }

  started(): number {
    return this.#started;
  }

  revoke(seq: number): boolean {
    this.#slots[seq % SLOT_COUNT] = seq;
    return this.#started < seq;
  }

  close(): void {}
}
