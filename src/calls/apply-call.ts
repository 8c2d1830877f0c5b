/**
 * `apply`: one task, settled as one promise.
 */
import type { TaskRunner } from '../scheduler/task-runner';
import type { Task } from '../scheduler/task';
import type { ChunkValues } from '../shared/packing';
import type { TaskSpec } from '../shared/protocol';
import { Call, type CallSettings } from './call';

export class ApplyCall<R> extends Call {
  // The promise and its two functions rather than a deferred holding them: one object less for every
  // pending call, which counts when a hundred thousand tiny calls wait at once.
  readonly promise: Promise<R>;
  #resolve!: (value: R) => void;
  #reject!: (reason: unknown) => void;

  constructor(engine: TaskRunner, spec: TaskSpec, args: unknown[], options: CallSettings) {
    super(engine, spec, options, true);
    this.promise = new Promise<R>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (options.signal?.aborted) {
      this.#reject(options.signal.reason);
      this.end();
      return;
    }
    this.submit([args], 0);
  }

  resolveChunk(_task: Task, values: ChunkValues): void {
    this.end();
    this.#resolve(values[0] as R);
  }

  rejectChunk(_task: Task, error: unknown): void {
    this.end();
    this.#reject(error);
  }
}
