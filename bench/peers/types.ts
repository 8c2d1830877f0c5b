/**
 * The one interface every Node pool under test is driven through.
 */
import type { TaskName } from '../types';

export interface PoolUnderTest {
  /** Run one task; resolves with its result. */
  call(task: TaskName, arg: unknown): Promise<unknown>;
  /** One map call over `items` (`chunksize` undefined: the pool's default). Only pools that have a map. */
  map?(task: TaskName, items: unknown[], chunksize: number | undefined): Promise<unknown[]>;
  /**
   * C-move: send `buffer` to a worker and have it sent back, moved both ways rather than copied (it is
   * detached here meanwhile). Only pools of threads.
   */
  move?(buffer: ArrayBuffer): Promise<ArrayBuffer>;
  /** Let the submitted work finish, then stop the children; resolves when they are gone. */
  close(): Promise<void>;
}

/**
 * The IPC channel a pool of child processes uses: its own default, or Node's `'advanced'` serialization,
 * which the Buffer echoes (C) ask for so that a Buffer crosses as bytes rather than as JSON.
 */
export type Channel = 'default' | 'advanced';

export interface NodePeer {
  /** A pool of `workers` children (threads for the thread pools, none for serial), ready to take calls. */
  create(workers: number, channel: Channel): PoolUnderTest;
}
