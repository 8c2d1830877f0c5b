/**
 * A simulated child process for the scheduler's unit tests, in the manner of jest-worker's
 * MockChildProcess: the engine talks to it as to a forked child, and the test plays the child's side
 * (asks for work, claims tasks on its progress page, answers, dies) by hand. No process is started.
 */
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { resolvePoolOptions, type PoolOptions } from '../src/options';
import type { ChildFactory } from '../src/scheduler/child-handle';
import { Engine } from '../src/scheduler/engine';
import { Task, type TaskSink } from '../src/scheduler/task';
import { MemoryPage } from '../src/shared/progress-page';
import { MESSAGE_TAG, type ChildMessage, type InitMessage, type ParentMessage, type WireTask } from '../src/shared/protocol';

/** A child's message before it is stamped. */
type ChildBody = ChildMessage extends infer M ? (M extends ChildMessage ? Omit<M, typeof MESSAGE_TAG> : never) : never;

// Made-up pids, for messages and errors only: nothing is ever sent a signal.
let nextPid = 90001;

export class MockChild extends EventEmitter {
  pid: number | undefined = nextPid++;
  connected = true;
  /** Every message the parent sent, in order. */
  readonly received: ParentMessage[] = [];
  readonly signals: NodeJS.Signals[] = [];
  #token = '';
  /** Tasks received, each with its number on the page. */
  readonly tasks: Array<WireTask & { seq: number }> = [];
  channel = { ref() {}, unref() {} };

  /** `page`: the progress page the engine opened for this child. */
  constructor(readonly page: MemoryPage) {
    super();
  }

  send(message: ParentMessage): boolean {
    if (message.type === 'pool:init') this.#token = (message as InitMessage).token;
    if (message.type === 'pool:tasks') for (const task of message.tasks) this.tasks.push({ ...task, seq: this.tasks.length + 1 });
    this.received.push(message);
    return true;
  }

  kill(signal: NodeJS.Signals): boolean {
    this.signals.push(signal);
    return true;
  }

  ref(): void {}
  unref(): void {}

  /** Ids of the tasks received, in order. */
  get taskIds(): number[] {
    return this.tasks.map((task) => task.id);
  }

  /** The child's side of a message. */
  say(body: ChildBody): void {
    this.emit('message', { [MESSAGE_TAG]: this.#token, ...body });
  }

  ready(credits = 1): void {
    this.say({ type: 'pool:ready', credits });
  }

  /** Begin the task with this id, as the child does before running it: false if it was taken back. */
  claim(id: number): boolean {
    const task = this.tasks.find((t) => t.id === id)!;
    return this.page.claim(task.seq);
  }

  /** Answer tasks with their inputs doubled, asking for `credits` more. */
  answer(ids: number[], credits = ids.length): void {
    const results = ids.map((id) => {
      const task = this.tasks.find((t) => t.id === id)!;
      return { id, values: (task.inputs as number[]).map((x) => 2 * x) };
    });
    this.say({ type: 'pool:results', results, credits });
  }

  die(exitCode: number | null, signal: NodeJS.Signals | null = null): void {
    this.connected = false;
    this.emit('close', exitCode, signal);
  }

  /** The spawn failed: no pid, an 'error', and (as Node does for some failures) no 'close' after it. */
  spawnFails(error: NodeJS.ErrnoException): void {
    this.pid = undefined;
    this.connected = false;
    this.emit('error', error);
  }
}

/** An engine over mock children; `children` fills as it forks them. */
export function mockEngine(options: PoolOptions = {}): { engine: Engine; children: MockChild[] } {
  const children: MockChild[] = [];
  let page: MemoryPage | undefined;
  // The engine opens a child's page, then forks it: the page goes to the child forked next.
  const factory: ChildFactory = {
    openPage: () => (page = new MemoryPage()),
    fork: () => {
      const child = new MockChild(page!);
      children.push(child);
      return child as unknown as ChildProcess;
    },
    // Its pids are made up: no guard may ever kill them.
    orphanGuard: () => ({ childrenWatch: false, watch() {}, forget() {}, start() {}, close() {} }),
  };
  const observer = { spawn() {}, exit() {}, event() {} };
  const engine = new Engine(resolvePoolOptions({ processes: 2, ...options }), { initializer: null, preload: null, token: 'token' }, observer, factory);
  return { engine, children };
}

/** A one-item task of its own call, whose outcome the returned list records. */
export function submitTask(engine: Engine, input: number, outcomes: Map<number, unknown>, timeout?: number): Task {
  const sink: TaskSink = {
    resolveTask: (task, values) => outcomes.set(task.id, values[0]),
    rejectTask: (task, error) => outcomes.set(task.id, error),
  };
  const task = new Task({ id: 1, kind: 'inline', source: '(x) => 2 * x', name: '' }, [input], false, sink, nextCall++, 0, timeout);
  engine.submit(task);
  return task;
}

let nextCall = 1;
