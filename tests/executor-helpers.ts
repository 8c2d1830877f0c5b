/**
 * Shared by the executor tests: a scratch directory per test with a gate file that gated tasks wait for,
 * and a registry of executors so that every one is shut down and none of its children outlives the test.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BaseExecutor, ExecutorOptions } from '../src';
import { fixture, useScratchDir } from './helpers';
import { executorOf, type Kind } from './kinds';

export const TASKS = fixture('executor-tasks.js');
export type Tasks = typeof import('./fixtures/executor-tasks');

/**
 * A call with a deadline only goes to a child with nothing else in hand: with a generous taskTimeout,
 * calls submitted together are sure to run in different children rather than one behind the other.
 */
export const ONE_CALL_PER_CHILD = { taskTimeout: 60000 };

export interface Scratch {
  dir: string;
  /** Gated tasks run until this file exists. */
  gate: string;
  /** Lines appended by `mark` tasks. */
  log: string;
  openGate(): void;
  /** The labels `mark` tasks appended so far. */
  marks(): string[];
}

/** The executors made by `executor` during the current test. */
let executors: BaseExecutor<Tasks, any>[] | undefined;

function scratchIn(dir: string): Scratch {
  const gate = path.join(dir, 'gate');
  const log = path.join(dir, 'log');
  return {
    dir,
    gate,
    log,
    openGate: () => fs.writeFileSync(gate, ''),
    marks: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
  };
}

/** A scratch directory and executor registry for each test of the file that calls this. */
export function useScratch(): () => Scratch {
  beforeEach(() => {
    executors = [];
  });
  afterEach(async () => {
    const created = executors!;
    executors = undefined;
    // Let whatever a failed test left running finish, then stop every child.
    scratch().openGate();
    await Promise.all(created.map((executor) => executor.shutdown({ wait: true, cancelFutures: true })));
  });
  // Its hooks come after the ones above: the directory is removed once the executors are shut down.
  const dir = useScratchDir('forkpool-executor-');
  const scratch = () => scratchIn(dir());
  return scratch;
}

/** An executor over the fixture tasks, shut down after the test whatever happens. */
export function executor(options: ExecutorOptions<Tasks> = {}, kind: Kind = 'process'): BaseExecutor<Tasks, any> {
  const created = executorOf<Tasks>(kind, { maxWorkers: 1, module: TASKS, ...options });
  executors!.push(created);
  return created;
}

/** {@link executor} for executors of `kind`. */
export function executorFor(kind: Kind): (options?: ExecutorOptions<Tasks>) => BaseExecutor<Tasks, any> {
  return (options) => executor(options, kind);
}
