/**
 * What Pool and ProcessPoolExecutor share when they start: the task resolver and the engine.
 */
import { randomUUID } from 'node:crypto';
import type { ResolvedPoolOptions } from '../options';
import { Engine, type EngineObserver } from '../scheduler/engine';
import { TaskResolver } from './task-resolver';

/** Chunks per child a lazily read input keeps submitted and not yet consumed: enough to keep every child busy. */
const INPUT_WINDOW_PER_CHILD = 4;

export function createEngine(options: ResolvedPoolOptions, observer: EngineObserver): { engine: Engine; resolver: TaskResolver } {
  // Relative module paths resolve against the directory the pool is created in, whatever its `cwd`.
  const resolver = new TaskResolver(process.cwd(), options.module);
  const initializer = options.initializer === undefined ? null : resolver.resolve(options.initializer, 'initializer');
  const token = randomUUID();
  return { engine: new Engine(options, { initializer, preload: resolver.defaultModule, token }, observer), resolver };
}

/** How many chunks of a lazily read input may be submitted and not yet consumed. */
export function chunkedInputWindow(processes: number): number {
  return INPUT_WINDOW_PER_CHILD * processes;
}
