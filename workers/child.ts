/**
 * The script every child runs: wait for `pool:init`, run the initializer, then pull tasks, run them in the
 * order they came and answer each with one `pool:result` or `pool:error`, which also asks for the next.
 */
import {
  isPoolMessage,
  tag,
  type ChildMessage,
  type InitMessage,
  type ParentMessage,
  type TaskMessage,
} from '../src/protocol';
import { toWireError } from '../src/errors';
import { findJsonUnsendable, unsendableError } from '../src/sendable';
import { explainInlineError, loadTask } from './load-task';
import { exitWithParent } from './orphan-watch';

/** Tasks asked for up front: one to run and one queued behind it, so no round trip separates them. */
const CREDITS = 2;

const queue: TaskMessage[] = [];
let running = false;
let exitRequested = false;
let serialization: InitMessage['serialization'] = 'advanced';

function send(message: ChildMessage): void {
  process.send!(message);
}

async function initialize(message: InitMessage): Promise<void> {
  serialization = message.serialization;
  try {
    if (message.initializer !== null) {
      const initializer = await loadTask(message.initializer);
      await initializer(...message.initargs);
    }
  } catch (error) {
    send(tag({ type: 'pool:init-error', error: toWireError(explainInlineError(error)) }));
    return;
  }
  send(tag({ type: 'pool:ready', credits: CREDITS }));
}

/** Run queued tasks one after another until the queue is empty. */
async function drain(): Promise<void> {
  running = true;
  while (queue.length > 0) await runTask(queue.shift()!);
  running = false;
  if (exitRequested) process.exit(0);
}

async function runTask({ id, task, calls }: TaskMessage): Promise<void> {
  const values: unknown[] = new Array(calls.length);
  let index = 0;
  try {
    let fn = loadTask(task);
    if (fn instanceof Promise) fn = await fn;
    for (; index < calls.length; index++) {
      let value = fn(...calls[index]);
      if (isThenable(value)) value = await value;
      values[index] = value;
    }
  } catch (error) {
    sendError(id, index, explainInlineError(error));
    return;
  }
  sendResult(id, values);
}

function sendResult(id: number, values: unknown[]): void {
  const problem = serialization === 'json' ? findJsonUnsendable(values, 'result') : undefined;
  if (problem !== undefined) {
    sendError(id, 0, unsendableError('The task result', problem));
    return;
  }
  try {
    send(tag({ type: 'pool:result', id, values }));
  } catch (error) {
    // Structured clone refuses functions, symbols and handles before anything is written.
    sendError(id, 0, unsendableError('The task result', (error as Error).message, error));
  }
}

function sendError(id: number, index: number, error: unknown): void {
  send(tag({ type: 'pool:error', id, index, error: toWireError(error) }));
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function onMessage(message: unknown): void {
  if (!isPoolMessage(message)) return;
  const parentMessage = message as ParentMessage;
  switch (parentMessage.type) {
    case 'pool:init':
      void initialize(parentMessage);
      break;
    case 'pool:task':
      queue.push(parentMessage);
      if (!running) void drain();
      break;
    case 'pool:cancel': {
      const before = queue.length;
      for (const id of parentMessage.ids) {
        const at = queue.findIndex((queued) => queued.id === id);
        if (at !== -1) queue.splice(at, 1);
      }
      const dropped = before - queue.length;
      if (dropped > 0) send(tag({ type: 'pool:ready', credits: dropped }));
      break;
    }
    case 'pool:exit':
      exitRequested = true;
      if (!running) process.exit(0);
      break;
  }
}

if (typeof process.send !== 'function') {
  console.error('forkpool: this script is started by a Pool through child_process.fork, not by hand.');
  process.exit(1);
}
// A Ctrl-C reaches the whole process group; the parent decides what it means for its children.
process.on('SIGINT', () => {});
exitWithParent();
process.on('message', onMessage);
