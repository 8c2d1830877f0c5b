/**
 * SharedMemory: Python's `multiprocessing.shared_memory.SharedMemory`, without its leaks.
 *
 * A block is a memfd (an anonymous file in memory) that every process holding it maps. It has no name in any
 * filesystem, so nothing can be left behind: the kernel frees its pages when the last descriptor and the last
 * mapping are gone, whichever way each holder ended. Another process reaches it through the holder's
 * descriptor, `/proc/<pid>/fd/<fd>` (see {@link SharedMemory.attach}), so a holder keeps its descriptor open as
 * long as it holds the block; the mapping owns it and closes it when it ends (native/shared-memory.c).
 *
 * Where the native part cannot load (src/shared/native.ts), a block is a plain ArrayBuffer in copy mode
 * (`shared === false`): its bytes travel with the calls that carry it.
 *
 * Each copy of this module keeps its own registry of the blocks it made or attached. A process loads one copy
 * of the library however it loads it (the ES module build re-exports the CommonJS one); a child process
 * loads two, the child script's and, for a task module that uses SharedMemory itself, the library's. There
 * only the child script attaches blocks, and `instanceof` holds across the two through a shared brand.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { PoolStateError, withCode } from '../errors';
import { ensureHeadroom } from './memory-headroom';
import { nativeMemory } from './native';
import { describe } from '../task-ref';

/**
 * How another process or thread maps a block: the holder's descriptor of the memfd, and the file's identity,
 * checked after opening so that a reused pid or descriptor number is refused rather than mapped.
 * @internal
 */
export interface SharedBlockDescription {
  kind: 'shared';
  /** {@link SharedMemory.id}. */
  id: string;
  size: number;
  /** The process holding the descriptor. */
  pid: number;
  fd: number;
  /** The memfd's inode number. */
  ino: number;
}

/** A block in copy mode: its bytes ({@link SharedMemory.bytes}) travel beside this. @internal */
export interface CopyBlockDescription {
  kind: 'copy';
  id: string;
  size: number;
}

/** @internal */
export type BlockDescription = SharedBlockDescription | CopyBlockDescription;

/** Told the id of every block whose view ends in this thread, by close() or by garbage collection. @internal */
export type BlockCloseListener = (id: string) => void;

type BlockState =
  /** Usable. */
  | 'open'
  /** close() was called while calls carried the block: it closes when the last of them releases it. */
  | 'closing'
  /** This thread's view has ended: the buffer is detached, the mapping and the descriptor are gone. */
  | 'closed';

const TRANSITIONS: Record<BlockState, readonly BlockState[]> = {
  open: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** The blocks of this copy of the module, in this thread. */
interface Registry {
  /** Blocks by id. Weak: a block nobody holds is collected, and its mapping ends with its buffer. */
  readonly blocks: Map<string, WeakRef<SharedMemory>>;
  readonly listeners: Set<BlockCloseListener>;
  /** Forgets a collected block and tells the listeners; holds the block's WeakRef, to tell it from a newer one. */
  readonly collected: FinalizationRegistry<{ id: string; ref: WeakRef<SharedMemory> }>;
  /** The number of the next block made here. */
  next: number;
}

/** On the prototype of every copy's class: `instanceof` checks for it. */
const BRAND = Symbol.for('forkpool.shared-memory');

const shared: Registry = {
  blocks: new Map(),
  listeners: new Set(),
  collected: new FinalizationRegistry(({ id, ref }) => {
    if (shared.blocks.get(id) !== ref) return;
    shared.blocks.delete(id);
    notifyClosed(id);
  }),
  next: 1,
};

/**
 * A block of memory shared by processes (and worker threads): what one writes in `buffer`, the others see,
 * without a copy. Pass it as (or inside) a pool call's argument or result and it arrives as a `SharedMemory`
 * over the same pages.
 *
 * ```ts
 * using block = SharedMemory.create(256 * 2 ** 20);    // zero-filled; closed at the end of the scope
 * new Float64Array(block.buffer).set(data);
 * await pool.map('scale', [[block, 0, n / 2], [block, n / 2, n]]);
 * ```
 *
 * Lifetime: the pages live while any process holds the block, and the kernel frees them when the last holder
 * closes it or exits, however it exits: there is no file to unlink and nothing to leak. `close()` ends this
 * process's view only.
 *
 * Where the native part cannot load (no binary for the platform, musl), `shared` is `false` and the block is
 * an ordinary ArrayBuffer whose contents travel with each call: everything works, by copying.
 */
export class SharedMemory implements Disposable {
  /**
   * Unique across processes and threads (`<pid>:<threadId>:<n>`), kept by every process and thread the block
   * reaches.
   * @internal
   */
  readonly id: string;
  /** The size in bytes, as given to {@link SharedMemory.create}. */
  readonly size: number;
  /**
   * `true` when the pages are truly shared (a memory mapping, on Linux x64 with glibc); `false` in copy mode,
   * where `buffer` is a plain ArrayBuffer and writes reach other processes by copy, at the task boundary.
   */
  readonly shared: boolean;
  #buffer: ArrayBuffer;
  /** The memfd this thread holds (the mapping owns it); undefined in copy mode. */
  readonly #fd: number | undefined;
  readonly #ino: number;
  #state: BlockState = 'open';
  /** Calls that carry the block now: close() waits for them. */
  #retained = 0;
  /** This block's entry in the registry. */
  readonly #ref: WeakRef<SharedMemory>;

  private constructor(id: string, buffer: ArrayBuffer, fd: number | undefined, ino: number) {
    this.id = id;
    this.size = buffer.byteLength;
    this.shared = fd !== undefined;
    this.#buffer = buffer;
    this.#fd = fd;
    this.#ino = ino;
    this.#ref = new WeakRef(this);
    shared.blocks.set(id, this.#ref);
    shared.collected.register(this, { id, ref: this.#ref }, this);
  }

  /**
   * A new block of `size` bytes, zero-filled.
   *
   * All its pages are allocated now, so that a size the machine cannot hold fails here, with the system's error
   * (`code` `'ENOMEM'` or `'ENOSPC'`), and never later as a SIGBUS when a page is first written. A size above
   * the memory available (MemAvailable + SwapFree, or a memory cgroup's limit) is refused before asking.
   *
   * @param size - bytes, an integer from 1 up to `buffer.constants.MAX_LENGTH` (4 GiB on Node 20).
   * @throws TypeError if `size` is not a number; RangeError if it is not an integer in that range; the
   * system's error (`code` `'ENOMEM'`, `'ENOSPC'`, `'EMFILE'`) if the block cannot be made.
   */
  static create(size: number): SharedMemory {
    checkSize(size);
    // Before Node's own limit: a size no machine here could hold gets the system's answer on every Node.
    ensureHeadroom(size, `SharedMemory.create(${size})`);
    checkSizeLimit(size);
    const id = nextId();
    const native = nativeMemory();
    if (native === undefined) return new SharedMemory(id, new ArrayBuffer(size), undefined, 0);
    const fd = native.memfd(`forkpool-${id}`);
    let buffer: ArrayBuffer;
    let ino: number;
    try {
      native.reserve(fd, size);
      ino = fstatSync(fd).ino;
      buffer = native.map(fd, size, true);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    return new SharedMemory(id, buffer, fd, ino);
  }

  /**
   * The block in this process or thread, mapped from its holder's description: the same pages. A block this
   * thread holds already (the same id) is returned as it is, with no new mapping.
   *
   * Another process's block is opened through `/proc/<pid>/fd/<fd>`, which needs that process alive, still
   * holding the block, and (as for ptrace) running as the same user. Where the native part is missing here, the
   * block arrives in copy mode (`shared === false`), read through the same descriptor.
   *
   * @throws Error with `code` `'ERR_POOL_SHARED_MEMORY_ATTACH'` (and the system's error as `cause`) when the
   * holder is gone, no longer holds it, or is not reachable; TypeError for a copy-mode description, whose
   * block travels as bytes ({@link SharedMemory.fromBytes}).
   * @internal
   */
  static attach(description: SharedBlockDescription): SharedMemory {
    if (description.kind !== 'shared') {
      throw new TypeError(`SharedMemory ${description.id} is in copy mode: it travels as bytes, for SharedMemory.fromBytes().`);
    }
    const existing = lookup(description.id);
    if (existing !== undefined) return existing;
    const { id, size, pid, fd: remote, ino } = description;
    const native = nativeMemory();
    let fd: number;
    try {
      fd = openSync(`/proc/${pid}/fd/${remote}`, native === undefined ? 'r' : 'r+');
    } catch (error) {
      throw attachError(description, `process ${pid} does not hold it any more (or cannot be reached)`, error);
    }
    let mapped = false;
    try {
      const stat = fstatSync(fd);
      if (stat.ino !== ino || stat.size !== size) {
        throw attachError(description, `descriptor ${remote} of process ${pid} is another file now`);
      }
      if (native !== undefined) {
        const buffer = native.map(fd, size, true);
        mapped = true;
        return new SharedMemory(id, buffer, fd, ino);
      }
      // Copy mode here: the pages' contents as they are now.
      const buffer = new ArrayBuffer(size);
      readFully(fd, new Uint8Array(buffer));
      return new SharedMemory(id, buffer, undefined, 0);
    } finally {
      // A mapping owns its descriptor from now on; any other outcome leaves this one to close.
      if (!mapped) closeSync(fd);
    }
  }

  /**
   * The block made from bytes received in copy mode (one side, or both, without the native part). If this
   * thread holds the block already, the bytes are copied into it, in place: that is how a child's writes reach
   * the caller's block with the task's result.
   *
   * @throws RangeError if `bytes` is not `description.size` long.
   * @internal
   */
  static fromBytes(description: BlockDescription, bytes: Uint8Array): SharedMemory {
    if (bytes.byteLength !== description.size) {
      throw new RangeError(`SharedMemory ${description.id} is ${description.size} bytes, but ${bytes.byteLength} arrived.`);
    }
    const existing = lookup(description.id);
    if (existing !== undefined) {
      new Uint8Array(existing.buffer).set(bytes);
      return existing;
    }
    const buffer = new ArrayBuffer(description.size);
    new Uint8Array(buffer).set(bytes);
    return new SharedMemory(description.id, buffer, undefined, 0);
  }

  /**
   * Write `bytes` at `at` into the block with this id that this thread holds: the changes a worker that held
   * it in copy mode made to it. False if this thread holds no such block (it was closed meanwhile).
   * @internal
   */
  static patch(id: string, at: number, bytes: Uint8Array): boolean {
    const block = lookup(id);
    if (block === undefined || at + bytes.byteLength > block.size) return false;
    new Uint8Array(block.buffer, at, bytes.byteLength).set(bytes);
    return true;
  }

  /**
   * Call `listener` with the id of every block whose view ends in this process or thread: by `close()` (once
   * the calls that carried it have settled), or by garbage collection of a block nobody closed. A listener
   * that throws becomes a process warning. Returns the function that removes it.
   * @internal
   */
  static onClose(listener: BlockCloseListener): () => void {
    shared.listeners.add(listener);
    return () => shared.listeners.delete(listener);
  }

  /** True for a SharedMemory made by any copy of this package loaded in this thread (CommonJS or ES module). */
  static [Symbol.hasInstance](value: unknown): value is SharedMemory {
    return typeof value === 'object' && value !== null && BRAND in value;
  }

  /**
   * An ArrayBuffer over the block's pages: view it with a typed array or a DataView. After `close()` it is
   * detached, and every view of it reads length 0.
   */
  get buffer(): ArrayBuffer {
    return this.#buffer;
  }

  /**
   * End this process's view of the block: `buffer` is detached (its views read length 0) and this process's
   * mapping and descriptor are released. The block lives on in every other process that holds it, and the
   * kernel frees it after the last. If calls that carry the block are still running, this happens when they
   * have settled. Closing twice does nothing.
   */
  close(): void {
    if (this.#state !== 'open') return;
    if (this.#retained > 0) {
      this.#transition('closing');
      return;
    }
    this.#end();
  }

  /**
   * Does nothing: Python's `unlink()` removes the block's name, and these blocks have none. There is nothing to
   * remove, and nothing to leak: the kernel frees the pages when the last process holding them closes or exits.
   */
  unlink(): void {}

  /** `close()`, so that `using block = SharedMemory.create(n)` closes the block at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * How another process or thread can map this block ({@link SharedMemory.attach}), or, in copy mode, which
   * block its bytes ({@link SharedMemory.bytes}) are. Valid while this thread holds the block open.
   * @throws PoolStateError after close.
   * @internal
   */
  describe(): BlockDescription {
    this.#ensureOpen('described');
    if (this.#fd === undefined) return { kind: 'copy', id: this.id, size: this.size };
    return { kind: 'shared', id: this.id, size: this.size, pid: process.pid, fd: this.#fd, ino: this.#ino };
  }

  /**
   * The block's bytes, to send in copy mode: a view, not a copy.
   * @throws PoolStateError after close.
   * @internal
   */
  bytes(): Uint8Array {
    this.#ensureOpen('sent');
    return new Uint8Array(this.#buffer);
  }

  /**
   * A call carries the block from now until its `release()`: `close()` waits for it.
   * @throws PoolStateError once `close()` was called: a closed block cannot be sent.
   * @internal
   */
  retain(): void {
    if (this.#state !== 'open') {
      throw new PoolStateError(`SharedMemory ${this.id} is closed (close() was called): it cannot be passed to a call.`);
    }
    this.#retained++;
  }

  /**
   * A call that carried the block has settled. The last one ends a `close()` that was waiting for it.
   * @internal
   */
  release(): void {
    if (this.#retained === 0) throw new PoolStateError(`SharedMemory ${this.id} was released more often than retained.`);
    this.#retained--;
    if (this.#retained === 0 && this.#state === 'closing') this.#end();
  }

  #ensureOpen(what: string): void {
    if (this.#state === 'closed') throw new PoolStateError(`SharedMemory ${this.id} is closed: it cannot be ${what}.`);
  }

  #end(): void {
    this.#transition('closed');
    shared.collected.unregister(this);
    if (shared.blocks.get(this.id) === this.#ref) shared.blocks.delete(this.id);
    if (this.shared) {
      nativeMemory()!.unmap(this.#buffer);
    } else {
      // Detach a plain ArrayBuffer by transferring it away; the copy nobody holds is collected.
      structuredClone(this.#buffer, { transfer: [this.#buffer] });
    }
    notifyClosed(this.id);
  }

  #transition(to: BlockState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw new PoolStateError(`SharedMemory ${this.id} cannot go from ${this.#state} to ${to}.`);
    }
    this.#state = to;
  }
}

Object.defineProperty(SharedMemory.prototype, BRAND, { value: true });

/**
 * The block with this id that this thread holds and has not closed. Its buffer tells, not its state: the block
 * may come from another copy of this module, whose private fields this copy cannot read.
 */
function lookup(id: string): SharedMemory | undefined {
  const block = shared.blocks.get(id)?.deref();
  return block !== undefined && block.buffer.byteLength === block.size ? block : undefined;
}

/** Each thread numbers its own blocks, so the thread is part of the id (worker threads' ids are never reused). */
function nextId(): string {
  // node:worker_threads is loaded when a block is first made, not at every child's start-up.
  const { threadId } = require('node:worker_threads') as typeof import('node:worker_threads');
  return `${process.pid}:${threadId}:${shared.next++}`;
}

function notifyClosed(id: string): void {
  for (const listener of shared.listeners) {
    try {
      listener(id);
    } catch (error) {
      // The listener is the pool's; its failure must not stop close(), nor vanish.
      try {
        process.emitWarning(`A SharedMemory close listener threw: ${error instanceof Error ? error.message : String(error)}`, {
          type: 'ForkpoolWarning',
          detail: error instanceof Error ? error.stack : undefined,
        });
      } catch {
        // An Error from another realm is refused as a warning; close() must still not throw.
      }
    }
  }
}

function checkSize(size: number): void {
  if (typeof size !== 'number') {
    throw new TypeError(`Expected \`size\` to be a number of bytes, got ${describe(size)}.`);
  }
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`Expected \`size\` to be a whole number of bytes, 1 or more, got ${describe(size)}.`);
  }
}

/** Node's limit on a Buffer, which an ArrayBuffer over outside memory is made as: 4 GiB on Node 20. */
function checkSizeLimit(size: number): void {
  const max = bufferConstants.MAX_LENGTH;
  if (size > max) {
    throw new RangeError(`Expected \`size\` to be at most ${max} bytes (buffer.constants.MAX_LENGTH on this Node), got ${size}.`);
  }
}

function attachError(description: SharedBlockDescription, why: string, cause?: unknown): Error {
  const { id, pid, fd } = description;
  const detail = cause === undefined ? '' : `: ${(cause as Error).message}`;
  return withCode(new Error(`Cannot attach SharedMemory ${id} (descriptor ${fd} of process ${pid}): ${why}${detail}`, { cause }), 'ERR_POOL_SHARED_MEMORY_ATTACH');
}

/** Read a file from its start into `into`, all of it. */
function readFully(fd: number, into: Uint8Array): void {
  for (let done = 0; done < into.byteLength; ) {
    const read = readSync(fd, into, done, into.byteLength - done, done);
    if (read === 0) throw new Error(`The file ended after ${done} of ${into.byteLength} bytes.`);
    done += read;
  }
}
