/**
 * `map`/`starmap` over a known list: one task per chunk, settled as one promise.
 */
import pDefer from 'p-defer';
import type { TaskRunner } from '../scheduler/task-runner';
import type { Task } from '../scheduler/task';
import { MIN_PACKED_LENGTH, allNumbers, type ChunkValues } from '../shared/packing';
import type { TaskSpec } from '../shared/protocol';
import { Call, type CallSettings } from './call';

/**
 * A map over a known list of argument lists: results are placed by chunk, the call resolves when every
 * chunk has, and the first failing item rejects it and drops the chunks that have not started.
 */
export class MapCall<R> extends Call {
  readonly #result = pDefer<R[]>();
  readonly #values: R[];
  readonly #chunksize: number;
  #remaining: number;

  /** `spread`: each input is an argument list (starmap) rather than the single argument (map). */
  constructor(engine: TaskRunner, spec: TaskSpec, inputs: unknown[], spread: boolean, chunksize: number, options: CallSettings) {
    super(engine, spec, options, spread);
    this.#values = new Array(inputs.length);
    this.#chunksize = chunksize;
    this.#remaining = Math.ceil(inputs.length / chunksize);
    if (options.signal?.aborted) {
      this.#result.reject(options.signal.reason);
      this.end();
      return;
    }
    if (this.#remaining === 0) this.#result.resolve([]);
    // Numbers travel packed (see packing.ts): packing the whole input once, and cutting its chunks as copies
    // of bytes, spares the parent a slice, a check and a copy per chunk, which on a large map it would do
    // while the children wait.
    const packed = !spread && chunksize >= MIN_PACKED_LENGTH && allNumbers(inputs) ? Float64Array.from(inputs as number[]) : undefined;
    for (let chunk = 0, chunks = this.#remaining; chunk < chunks && this.#remaining > 0; chunk++) {
      const [start, end] = [chunk * chunksize, (chunk + 1) * chunksize];
      this.submit(packed === undefined ? inputs.slice(start, end) : packed.slice(start, end), chunk);
    }
  }

  get promise(): Promise<R[]> {
    return this.#result.promise;
  }

  resolveChunk(task: Task, values: ChunkValues): void {
    const offset = task.index * this.#chunksize;
    for (let i = 0; i < values.length; i++) this.#values[offset + i] = values[i] as R;
    if (--this.#remaining === 0) {
      this.end();
      this.#result.resolve(this.#values);
    }
  }

  rejectChunk(_task: Task, error: unknown): void {
    this.#remaining = -1; // settled: later chunks change nothing
    this.end();
    this.#result.reject(error);
  }
}
