/**
 * `apply`: one task, settled as one promise.
 */
import pDefer, { type DeferredPromise } from 'p-defer';
import type { Engine } from '../scheduler/engine';
import type { Task } from '../scheduler/task';
import type { ChunkValues } from '../shared/packing';
import type { TaskSpec } from '../shared/protocol';
import { Call, type CallSettings } from './call';

export class ApplyCall<R> extends Call {
  readonly #result: DeferredPromise<R> = pDefer<R>();

  constructor(engine: Engine, spec: TaskSpec, args: unknown[], options: CallSettings) {
    super(engine, spec, options, true);
    if (options.signal?.aborted) {
      this.#result.reject(options.signal.reason);
      this.end();
      return;
    }
    this.submit([args], 0);
  }

  get promise(): Promise<R> {
    return this.#result.promise;
  }

  resolveChunk(_task: Task, values: ChunkValues): void {
    this.end();
    this.#result.resolve(values[0] as R);
  }

  rejectChunk(_task: Task, error: unknown): void {
    this.end();
    this.#result.reject(error);
  }
}
