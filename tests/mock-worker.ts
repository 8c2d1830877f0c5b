/**
 * A simulated worker for the scheduler's unit tests, in the manner of jest-worker's MockChildProcess: the
 * engine drives it through a mock transport as it drives a process or a thread, and the test plays the
 * worker's side (asks for work, claims tasks on its progress page, answers, dies) by hand. Nothing is started.
 */
import { resolvePoolOptions, type PoolOptions } from '../src/options';
import { Engine } from '../src/scheduler/engine';
import { Task, type TaskSink } from '../src/scheduler/task';
import type { InitBody, Transport, WorkerLink, WorkerLinkEvents } from '../src/scheduler/worker';
import { MemoryPage } from '../src/shared/progress-page';
import { MESSAGE_TAG, PROTOCOL_VERSION, type ChildMessage, type InitMessage, type ParentMessage, type WireTask } from '../src/shared/protocol';

/** A worker's message before it is stamped. */
type ChildBody = ChildMessage extends infer M ? (M extends ChildMessage ? Omit<M, typeof MESSAGE_TAG> : never) : never;

// Made-up pids, for messages and errors only: nothing is ever sent a signal.
let nextPid = 90001;

export class MockWorker implements WorkerLink {
  pid: number | undefined = nextPid++;
  connected = true;
  readonly page = new MemoryPage();
  readonly output = { stdout: null, stderr: null };
  /** Every message the parent sent, in order. */
  readonly received: ParentMessage[] = [];
  /** How the pool stopped it: SIGTERM for a request, SIGKILL when forced. */
  readonly signals: NodeJS.Signals[] = [];
  #token = '';
  /** Tasks received, each with its number on the page. */
  readonly tasks: Array<WireTask & { seq: number }> = [];

  constructor(readonly events: WorkerLinkEvents) {}

  get info(): { pid: number } | undefined {
    return this.pid === undefined ? undefined : { pid: this.pid };
  }

  send(message: ParentMessage): Error | undefined {
    if (!this.connected) return undefined;
    if (message.type === 'pool:init') this.#token = (message as InitMessage).token;
    if (message.type === 'pool:tasks') for (const task of message.tasks) this.tasks.push({ ...task, seq: this.tasks.length + 1 });
    this.received.push(message);
    return undefined;
  }

  stop(force: boolean): void {
    if (this.pid !== undefined) this.signals.push(force ? 'SIGKILL' : 'SIGTERM');
  }

  ref(): void {}

  /** Ids of the tasks received, in order. */
  get taskIds(): number[] {
    return this.tasks.map((task) => task.id);
  }

  /** The worker's side of a message. */
  say(body: ChildBody): void {
    this.events.message({ [MESSAGE_TAG]: this.#token, ...body });
  }

  ready(credits = 1): void {
    this.say({ type: 'pool:ready', credits });
  }

  /** Begin the task with this id, as the worker does before running it: false if it was taken back. */
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
    this.events.exit({ exitCode, signal });
  }

  /** The start failed: no pid, and the error the transport reports. */
  spawnFails(error: NodeJS.ErrnoException): void {
    this.pid = undefined;
    this.connected = false;
    this.events.exit({ exitCode: null, signal: null, spawnError: error });
  }
}

/** An engine over mock workers; `children` fills as it starts them. */
export function mockEngine(options: PoolOptions = {}): { engine: Engine; children: MockWorker[] } {
  const children: MockWorker[] = [];
  const transport: Transport = {
    outOfBand: false,
    buffersAsBytes: false,
    spawn: (init: InitBody, events: WorkerLinkEvents) => {
      const worker = new MockWorker(events);
      children.push(worker);
      worker.send({ [MESSAGE_TAG]: PROTOCOL_VERSION, type: 'pool:init', ...init, watchParent: false, page: true } as ParentMessage);
      return worker;
    },
    sending() {},
    forget() {},
    close() {},
  };
  const observer = { spawn() {}, exit() {}, event() {} };
  const resolved = resolvePoolOptions({ processes: 2, ...options });
  const init = { initializer: null, preload: null, token: 'token', initargs: [], serialization: resolved.serialization };
  const engine = new Engine(resolved, init, observer, transport);
  return { engine, children };
}

/**
 * A one-item task of its own call, whose outcome the returned list records; `transfer`: the buffers it
 * moves to its worker.
 */
export function submitTask(engine: Engine, input: number, outcomes: Map<number, unknown>, timeout?: number, transfer?: ArrayBuffer[]): Task {
  const task = makeTask(input, outcomes, timeout, transfer);
  engine.submit(task);
  return task;
}

/** The task submitTask submits, not submitted. */
export function makeTask(input: number, outcomes: Map<number, unknown>, timeout?: number, transfer?: ArrayBuffer[]): Task {
  const sink: TaskSink = {
    resolveTask: (task, values) => outcomes.set(task.id, values[0]),
    rejectTask: (task, error) => outcomes.set(task.id, error),
  };
  return new Task({ id: 1, kind: 'inline', source: '(x) => 2 * x', name: '' }, [input], false, sink, nextCall++, 0, timeout, false, transfer);
}

let nextCall = 1;
