/**
 * What every worker runs, a child process or a thread alike: wait for `pool:init`, run the initializer, then
 * pull tasks, run them in the order they came, and answer with their outcomes, which also ask for more. The
 * entry of each kind of worker (process-entry.ts, thread-entry.ts) gives it a channel to its parent.
 */
import {
  MESSAGE_TAG,
  PROTOCOL_VERSION,
  VERSION_STAMP,
  stampOf,
  tag,
  type ChildMessage,
  type EventMessage,
  type InitMessage,
  type ParentMessage,
  type ResultsMessage,
  type TaskSpec,
  type VersionMessage,
  type WireFailure,
  type WireResult,
  type WireSuccess,
  type WireTask,
} from '../src/shared/protocol';
import { packNumbers, type ChunkValues } from '../src/shared/packing';
import type { Claimer } from '../src/shared/progress-page';
import { findUnsendable, unsendableError } from '../src/shared/sendable';
import { takeTransfer, takeTransfers } from '../src/shared/transfer-list';
import { TASK_CONTEXT, type TaskContext } from '../src/shared/task-context';
import { toWireError } from '../src/shared/wire-error';
import type { Transferable } from 'node:worker_threads';
import { PoolStateError } from '../src/errors';
import { CarriedValues, type CopyHeld } from './carried-values';
import { CreditWindow } from './credit-window';
import { explainInlineError, loadTask, preloadModule, type TaskFunction } from './load-task';

/** How a worker reaches its parent: an IPC channel (a child process) or a message port (a thread). */
export interface ParentChannel {
  /**
   * Send to the parent; `transfer`: buffers to move rather than copy, where the channel moves them (a
   * thread's; a process copies them with the rest). @throws what serializing the message throws (nothing is
   * sent then).
   */
  send(message: ChildMessage | VersionMessage, done?: () => void, transfer?: readonly Transferable[]): void;
  /** The page this worker claims its tasks on, when `pool:init` says it has one. */
  claimer(): Claimer;
  /** No guard watches for the parent's death on this worker's behalf: it watches itself. */
  watchParent(): void;
  /** Call `handler` with every message from the parent. */
  onMessage(handler: (message: unknown) => void): void;
  /** Whether large values may travel through segments (between processes), rather than in the channel. */
  readonly outOfBand: boolean;
  /** Whether the channel delivers a Buffer as a plain Uint8Array (a thread's postMessage): see value-codec.ts. */
  readonly buffersAsBytes: boolean;
}

/** A task received, with its number on the progress page. */
interface HeldTask extends WireTask {
  seq: number;
}

const queue: HeldTask[] = [];
/** Tasks received so far: the next one's `seq` is one more. */
let received = 0;
/** Claims each task before it runs; null without a progress page, where the parent takes nothing back. */
let page: Claimer | null = null;
/** The parent, once runWorker() has been given it. */
let parent: ParentChannel;
/** The blocks and segments that values carry (carried-values.ts). */
let carried: CarriedValues;
const specs = new Map<number, TaskSpec>();
const window = new CreditWindow();
/** Outcomes not yet sent, and when the oldest of them was ready. */
let unsent: WireResult[] = [];
/** The buffers that outcomes not yet sent move to the parent (see transfer()), by outcome. */
const transfers = new Map<WireResult, Transferable[]>();
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
    const transfer = takeTransfer(value);
    try {
      const encoded = carried.send(value);
      const message = tag<EventMessage>({ type: 'pool:event', id: task.id, value: encoded === undefined ? value : undefined }, token);
      if (encoded !== undefined) message.encoded = encoded;
      parent.send(message, undefined, transfer);
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

function send(message: ChildMessage, done?: () => void): void {
  parent.send(message, done);
}

async function initialize(message: InitMessage): Promise<void> {
  serialization = message.serialization;
  carried.serialization = serialization;
  token = message.token;
  if (message.page) page = parent.claimer();
  try {
    // Started before user code runs, which may hang.
    if (message.watchParent) parent.watchParent();
    if (message.initializer !== null) {
      const initializer = await loadTask(message.initializer);
      const initargs = message.initargsEncoded === undefined ? message.initargs : (carried.receive(message.initargsEncoded).value as unknown[]);
      await initializer(...initargs);
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
    const ran = await (taskStore === undefined ? runTask(task) : taskStore.run(task, runTask, task));
    current = undefined;
    // The task's own time: what decides the window and whether its results may wait. Making its values
    // ready for the parent comes after, as sending them does.
    const finished = performance.now();
    window.record(task.fn, finished - started);
    if (unsent.length === 0) oldestUnsent = finished;
    const outcome = checked('copies' in ran ? resultOf(ran) : ran);
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

/** The copies of a task that carried no block in copy mode: most tasks, which then allocate nothing for them. */
const NO_COPIES: readonly CopyHeld[] = [];

/** What a task that started gave: its values, the failure that ended it, the blocks it held in copy mode. */
interface Ran {
  id: number;
  values: unknown[];
  failed: WireFailure | undefined;
  copies: readonly CopyHeld[];
}

/** Run a task's calls; a failure when the task could not start (its function or its inputs). */
async function runTask({ id, fn, inputs, encoded, spread, keepGoing }: WireTask): Promise<Ran | WireFailure> {
  let task: TaskFunction;
  let copies: readonly CopyHeld[] = NO_COPIES;
  try {
    const loaded = loadTask(specs.get(fn)!);
    task = loaded instanceof Promise ? await loaded : loaded;
    if (encoded !== undefined) ({ value: inputs, copies } = carried.receive(encoded) as { value: ChunkValues; copies: CopyHeld[] });
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
  return { id, values, failed, copies };
}

/** The outcome for the parent of a task that ran: its values encoded where they need it, or packed. */
function resultOf({ id, values, failed, copies }: Ran): WireResult {
  const result: WireResult = failed ?? { id, values: [] };
  const transfer = takeTransfers(values);
  if (transfer !== undefined) transfers.set(result, transfer);
  try {
    // What the task wrote in the blocks this worker holds in copy mode goes back with its result.
    if (copies.length > 0) result.writeBack = carried.writeBack(copies);
    if (failed === undefined || values.length > 0) {
      const envelope = carried.send(values);
      if (envelope !== undefined) result.encoded = envelope;
      else if (failed === undefined) (result as WireSuccess).values = packed(values);
      else failed.done = packed(values);
    }
  } catch (error) {
    return failure(id, unsendableError('The task result', (error as Error).message, error));
  }
  return result;
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
  let transfer: Transferable[] | undefined;
  let own: Map<WireResult, Transferable[]> | undefined;
  if (transfers.size > 0) {
    own = new Map(transfers);
    for (const result of results) transfer = joined(transfer, transfers.get(result));
    transfers.clear();
  }
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
    parent.send(message, undefined, transfer);
  } catch {
    // Structured clone refuses functions, symbols, handles and detached buffers before anything is written:
    // send each outcome on its own, so that only the unsendable ones fail. The first carries the credits.
    for (let i = 0; i < results.length; i++) {
      const one = { ...message, results: [results[i]], credits: i === 0 ? credits : 0 };
      if (i > 0) {
        delete one.dropped;
        delete one.skipped;
      }
      try {
        parent.send(one, undefined, own?.get(results[i]));
      } catch (error) {
        const reason = (error as Error).message;
        send({ ...one, results: [failure(results[i].id, unsendableError('The task result', reason, error))] });
      }
    }
  }
}

/** `list` added to `joined`, made where needed. */
function joined(into: Transferable[] | undefined, list: Transferable[] | undefined): Transferable[] | undefined {
  if (list === undefined) return into;
  if (into === undefined) return [...list];
  into.push(...list);
  return into;
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

function onParentMessage(message: unknown): void {
  const stamp = stampOf(message);
  if (stamp !== PROTOCOL_VERSION) {
    // A parent of another release: say which version this script speaks, in the form every release reads.
    if (typeof stamp === 'number') parent.send({ [MESSAGE_TAG]: VERSION_STAMP, version: PROTOCOL_VERSION });
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
      parent.watchParent();
      break;
    case 'pool:release':
      carried.released(parentMessage.segments);
      break;
    case 'pool:blocks-closed':
      carried.blocksClosed(parentMessage.ids);
      break;
  }
}

/** Longest a dying worker waits for its last message to be written. */
const FATAL_SEND_TIMEOUT_MS = 1000;

/**
 * An uncaught exception or unhandled rejection outside any task (a task's own throw is its result): run no
 * more tasks, tell the parent why, and exit as Node would have (code 1, the error on stderr).
 */
export function die(error: unknown): void {
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

/** Start answering the parent at the other end of `channel`. The entry passes every uncaught error to die(). */
export function runWorker(channel: ParentChannel): void {
  parent = channel;
  carried = new CarriedValues(channel.outOfBand, channel.buffersAsBytes);
  channel.onMessage(onParentMessage);
}
