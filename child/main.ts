/**
 * The script every child runs: wait for `pool:init`, run the initializer, then pull tasks, run them in the
 * order they came, and answer with their outcomes, which also ask for more.
 */
import {
  MESSAGE_TAG,
  PROTOCOL_VERSION,
  VERSION_STAMP,
  stampOf,
  tag,
  type ChildMessage,
  type InitMessage,
  type ParentMessage,
  type ResultsMessage,
  type TaskSpec,
  type WireFailure,
  type WireResult,
  type WireTask,
} from '../src/shared/protocol';
import { packNumbers, type ChunkValues } from '../src/shared/packing';
import { CHILD_PAGE_FD, PageClaimer } from '../src/shared/progress-page';
import { findUnsendable, unsendableError } from '../src/shared/sendable';
import { TASK_CONTEXT, type TaskContext } from '../src/shared/task-context';
import { toWireError } from '../src/shared/wire-error';
import { PoolStateError } from '../src/errors';
import { CreditWindow } from './credit-window';
import { explainInlineError, loadTask, preloadModule, type TaskFunction } from './load-task';
import { watchParent } from './orphan-watch';

/** A task received, with its number on the progress page. */
interface HeldTask extends WireTask {
  seq: number;
}

const queue: HeldTask[] = [];
/** Tasks received so far: the next one's `seq` is one more. */
let received = 0;
/** Claims each task before it runs; null without a progress page, where the parent takes nothing back. */
let page: PageClaimer | null = null;
const specs = new Map<number, TaskSpec>();
const window = new CreditWindow();
/** Outcomes not yet sent, and when the oldest of them was ready. */
let unsent: WireResult[] = [];
let oldestUnsent = 0;
/**
 * `starting` until the initializer has run (an early `pool:exit` waits for it: a child that has started runs
 * its initializer to the end), then `idle` or `running` its queue.
 */
let phase: 'starting' | 'idle' | 'running' = 'starting';
/** An uncaught exception: no task starts any more. */
let dying = false;
/** The task running now, which emit() sends its events for. */
let current: HeldTask | undefined;
/**
 * Each task's asynchronous context, once a task module has imported `forkpool/task`: an event sent by a
 * timer its task left behind is then refused instead of given to whichever task runs at that moment.
 * Off until then, as it slows every promise a little.
 */
let taskStore: import('node:async_hooks').AsyncLocalStorage<HeldTask> | undefined;

const taskContext: TaskContext = {
  emit(value) {
    const task = taskStore?.getStore() ?? current;
    if (task === undefined || task !== current) {
      throw new PoolStateError('emit() was called outside a running task (after its task had ended?): an event belongs to the task that sends it.');
    }
    const problem = findUnsendable(value, serialization, 'the event');
    if (problem !== undefined) throw unsendableError('The event', problem);
    try {
      send(tag({ type: 'pool:event', id: task.id, value }, token));
    } catch (error) {
      throw unsendableError('The event', (error as Error).message, error);
    }
  },
  trackTasks() {
    taskStore ??= new (require('node:async_hooks') as typeof import('node:async_hooks')).AsyncLocalStorage();
  },
};
(globalThis as { [TASK_CONTEXT]?: TaskContext })[TASK_CONTEXT] = taskContext;
let exitRequested = false;
let serialization: InitMessage['serialization'] = 'advanced';
/** The stamp on this child's messages, from `pool:init`. */
let token = '';

/** Taken at start-up: a task that replaces process.send cannot take the pool's channel with it. */
const sendToParent = process.send?.bind(process);

function send(message: ChildMessage, done?: () => void): void {
  sendToParent!(message, undefined, undefined, done);
}

async function initialize(message: InitMessage): Promise<void> {
  serialization = message.serialization;
  token = message.token;
  if (message.page) page = new PageClaimer(CHILD_PAGE_FD);
  try {
    // Started before user code runs, which may hang.
    if (message.watchParent) watchParent();
    if (message.initializer !== null) {
      const initializer = await loadTask(message.initializer);
      await initializer(...message.initargs);
    }
  } catch (error) {
    send(tag({ type: 'pool:init-error', error: toWireError(explained(error)) }, token));
    return;
  } finally {
    phase = 'idle';
  }
  if (exitRequested) {
    exitWhenFlushed();
    return;
  }
  send(tag({ type: 'pool:ready', credits: window.size }, token));
  // After the ask, which is on its way: the first task arrives while the module loads.
  if (message.preload !== null) preloadModule(message.preload);
}

/** Run queued tasks one after another until the queue is empty. */
async function drain(): Promise<void> {
  phase = 'running';
  while (queue.length > 0 && !dying) {
    const task = queue.shift()!;
    if (page !== null && !page.claim(task.seq)) {
      // Taken back by the parent, which has given it to another child.
      skipped.push(task.id);
      continue;
    }
    // Results wait to share a message only with those of tasks known to be tiny: never behind a task that
    // may be long.
    if (unsent.length > 0 && !window.knownTiny(task.fn)) flush();
    // The global `performance`: importing perf_hooks would add to every child's start-up.
    const started = performance.now();
    current = task;
    const result = await (taskStore === undefined ? runTask(task) : taskStore.run(task, runTask, task));
    current = undefined;
    const finished = performance.now();
    window.record(task.fn, finished - started);
    if (unsent.length === 0) oldestUnsent = finished;
    const outcome = checked(result);
    unsent.push(outcome);
    // A failure ends its call: the call's tasks waiting here are dropped, and the failure is sent at once.
    const failed = !('values' in outcome);
    if (failed && task.call !== 0) dropCall(task.call);
    if (task.urgent || failed || queue.length === 0 || window.shouldFlush(unsent.length, finished - oldestUnsent)) flush();
  }
  phase = 'idle';
  if (skipped.length > 0) flush();
  if (exitRequested) exitWhenFlushed();
}

async function runTask({ id, fn, inputs, spread, keepGoing }: WireTask): Promise<WireResult> {
  let task: TaskFunction;
  try {
    const loaded = loadTask(specs.get(fn)!);
    task = loaded instanceof Promise ? await loaded : loaded;
  } catch (error) {
    return failure(id, explained(error));
  }
  const values: unknown[] = [];
  let failed: WireFailure | undefined;
  for (let index = 0; index < inputs.length; index++) {
    try {
      let value = spread ? task(...(inputs[index] as unknown[])) : task(inputs[index]);
      if (isThenable(value)) value = await value;
      values.push(value);
    } catch (error) {
      failed ??= { id, index, error: toWireError(explained(error)) };
      if (!keepGoing) break;
    }
  }
  if (failed === undefined) return { id, values: packed(values) };
  // The calls that succeeded are not lost with the one that failed: imap yields those before it.
  if (values.length > 0) failed.done = packed(values);
  return failed;
}

function packed(values: unknown[]): ChunkValues {
  return serialization === 'advanced' ? packNumbers(values) : values;
}

/**
 * Fail a result that the parent could not take: under JSON, functions and symbols, which would vanish
 * silently; under either, nesting too deep for the parent to read. (Packed numbers need no look.)
 */
function checked(result: WireResult): WireResult {
  const values = 'values' in result ? result.values : result.done;
  if (values === undefined || values instanceof Float64Array) return result;
  const problem = findUnsendable(values, serialization, 'result');
  return problem === undefined ? result : failure(result.id, unsendableError('The task result', problem));
}

/** Ids of tasks dropped here, and of tasks taken back by the parent, not yet reported (nor asked for again). */
let dropped: number[] = [];
let skipped: number[] = [];
/** Calls that failed here, newest last: tasks of theirs still on the way are dropped when they arrive. */
const failedCalls = new Set<number>();
const FAILED_CALLS_KEPT = 256;

function dropCall(call: number): void {
  failedCalls.add(call);
  if (failedCalls.size > FAILED_CALLS_KEPT) failedCalls.delete(failedCalls.values().next().value!);
  for (let i = 0; i < queue.length; i++) {
    if (queue[i].call === call) dropped.push(queue.splice(i--, 1)[0].id);
  }
}

function flush(): void {
  const results = unsent;
  unsent = [];
  const credits = window.refill(results.length) + dropped.length + skipped.length;
  const message = tag<ResultsMessage>({ type: 'pool:results', results, credits }, token);
  if (dropped.length > 0) {
    message.dropped = dropped;
    dropped = [];
  }
  if (skipped.length > 0) {
    message.skipped = skipped;
    skipped = [];
  }
  try {
    send(message);
  } catch {
    // Structured clone refuses functions, symbols and handles before anything is written: send each
    // outcome on its own, so that only the unsendable ones fail. The first carries the credits.
    for (let i = 0; i < results.length; i++) {
      const one = { ...message, results: [results[i]], credits: i === 0 ? credits : 0 };
      if (i > 0) {
        delete one.dropped;
        delete one.skipped;
      }
      try {
        send(one);
      } catch (error) {
        const reason = (error as Error).message;
        send({ ...one, results: [failure(results[i].id, unsendableError('The task result', reason, error))] });
      }
    }
  }
}

/** Most time given to stdout and stderr to drain before a child exits anyway (a reader that never reads). */
const FLUSH_TIMEOUT_MS = 5000;

/**
 * Exit once what the tasks wrote to stdout and stderr is out: when those are pipes or sockets, process.exit()
 * would drop what is still buffered.
 */
function exitWhenFlushed(): void {
  let open = 2;
  const done = () => {
    if (--open === 0) process.exit(0);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
  setTimeout(() => process.exit(0), FLUSH_TIMEOUT_MS).unref();
}

/** The error as the parent should see it, inline tasks' ReferenceErrors explained; never throws. */
function explained(error: unknown): unknown {
  try {
    return explainInlineError(error);
  } catch {
    return error;
  }
}

function failure(id: number, error: unknown): WireFailure {
  return { id, index: 0, error: toWireError(error) };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function onMessage(message: unknown): void {
  const stamp = stampOf(message);
  if (stamp !== PROTOCOL_VERSION) {
    // A parent of another release: say which version this script speaks, in the form every release reads.
    if (typeof stamp === 'number') sendToParent!({ [MESSAGE_TAG]: VERSION_STAMP, version: PROTOCOL_VERSION });
    return;
  }
  const parentMessage = message as ParentMessage;
  switch (parentMessage.type) {
    case 'pool:init':
      void initialize(parentMessage);
      break;
    case 'pool:tasks':
      for (const task of parentMessage.tasks) {
        const held = task as HeldTask;
        held.seq = ++received;
        if (task.spec !== undefined) specs.set(task.fn, task.spec);
        if (failedCalls.has(task.call)) dropped.push(task.id);
        else queue.push(held);
      }
      if (phase === 'idle') {
        if (queue.length > 0) void drain();
        else if (dropped.length > 0) flush();
      }
      break;
    case 'pool:exit':
      exitRequested = true;
      if (phase === 'idle') exitWhenFlushed();
      break;
    case 'pool:watch-parent':
      watchParent();
      break;
  }
}

if (sendToParent === undefined) {
  console.error('forkpool: this script is started by a Pool through child_process.fork, not by hand.');
  process.exit(1);
}
/** Longest a dying child waits for its last message to be written. */
const FATAL_SEND_TIMEOUT_MS = 1000;

/**
 * An uncaught exception or unhandled rejection outside any task (a task's own throw is its result): run no
 * more tasks, tell the parent why, and exit as Node would have (code 1, the error on stderr).
 */
function die(error: unknown): void {
  if (dying) return;
  dying = true;
  try {
    console.error(error);
  } catch {
    // Nothing more to say.
  }
  const exit = () => process.exit(1);
  setTimeout(exit, FATAL_SEND_TIMEOUT_MS).unref();
  try {
    send(tag({ type: 'pool:fatal', error: toWireError(error) }, token), exit);
  } catch {
    exit();
  }
}

process.on('uncaughtException', die);
// A Ctrl-C reaches the whole process group; the parent decides what it means for its children.
process.on('SIGINT', () => {});
// An idle child sees its parent go; a busy one is killed by the pool's OrphanGuard (or watchParent()).
process.once('disconnect', () => process.exit(0));
// A send that fails because the parent is gone surfaces here; the 'disconnect' handler ends the child.
process.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_IPC_CHANNEL_CLOSED') throw error;
});
process.on('message', onMessage);
