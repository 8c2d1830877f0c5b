/**
 * What every pool's face starts with: a runner for its tasks, the resolver of its task references, and its
 * default task timeout. For a local pool, the runner is the engine.
 */
import { randomUUID } from 'node:crypto';
import type { ResolvedPoolOptions } from '../options';
import { Engine } from '../scheduler/engine';
import type { PoolObserver, TaskRunner } from '../scheduler/task-runner';
import type { Transport } from '../scheduler/worker';
import { TaskResolver } from './task-resolver';

/** What a pool's face is made of. */
export interface PoolSetup<R extends TaskRunner = TaskRunner> {
  runner: R;
  resolver: TaskResolver;
  /** The default `timeout` of every task. */
  taskTimeout: number | undefined;
}

/** An engine whose workers `transport` makes: child processes or threads. */
export function createEngine(options: ResolvedPoolOptions, observer: PoolObserver, transport: Transport): PoolSetup<Engine> {
  // Relative module paths resolve against the directory the pool is created in, whatever its `cwd`.
  const resolver = new TaskResolver(process.cwd(), options.module);
  const initializer = options.initializer === undefined ? null : resolver.resolve(options.initializer, 'initializer');
  const init = { token: randomUUID(), initializer, initargs: options.initargs, serialization: options.serialization, preload: resolver.defaultModule };
  const runner = new Engine(options, init, observer, transport);
  return { runner, resolver, taskTimeout: options.taskTimeout };
}
