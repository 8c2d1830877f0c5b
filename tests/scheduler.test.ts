/**
 * The scheduler's dispatch and exit rules over simulated children (tests/mock-worker.ts): who gets which
 * task, what is taken back and when, what a child's death does. No process is started.
 */
import { BrokenPoolError, TimeoutError } from '../src';
import { makeTask, mockEngine, submitTask } from './mock-worker';

/** Ids of the tasks in the `pool:tasks` messages a child received, message by message. */
function batches(child: { received: Array<{ type: string; tasks?: Array<{ id: number }> }> }): number[][] {
  return child.received.filter((m) => m.type === 'pool:tasks').map((m) => m.tasks!.map((t) => t.id));
}

let engines: Array<ReturnType<typeof mockEngine>> = [];
function setUp(options: Parameters<typeof mockEngine>[0] = {}): ReturnType<typeof mockEngine> {
  const made = mockEngine(options);
  engines.push(made);
  return made;
}
afterEach(() => {
  // Settle everything, so that no timer outlives the test.
  for (const { engine, children } of engines) {
    engine.terminate();
    for (const child of children) if (child.connected) child.die(null, 'SIGTERM');
  }
  engines = [];
});

const outcomes = new Map<number, unknown>();
beforeEach(() => outcomes.clear());

test('every child is sent init first, and nothing it did not ask for', () => {
  const { engine, children } = setUp();
  expect(children).toHaveLength(2);
  for (const child of children) expect(child.received.map((m) => m.type)).toEqual(['pool:init']);
  submitTask(engine, 1, outcomes);
  expect(children.flatMap(batches)).toEqual([]);
});

test('a child that asks for one gets one; the rest wait in the queue for the next that asks', () => {
  const { engine, children } = setUp();
  const tasks = [1, 2, 3].map((x) => submitTask(engine, x, outcomes));
  const [a, b] = children;
  a.ready(1);
  expect(batches(a)).toEqual([[tasks[0].id]]);
  b.ready(1);
  expect(batches(b)).toEqual([[tasks[1].id]]);
  a.answer([tasks[0].id]);
  expect(outcomes.get(tasks[0].id)).toBe(2);
  expect(batches(a)).toEqual([[tasks[0].id], [tasks[2].id]]);
});

test('submitAll sends what a ready child has room for in one message, where one submit after another sends one each', () => {
  const { engine, children } = setUp({ processes: 1 });
  const [child] = children;
  child.ready(8);
  const one = [1, 2, 3].map((x) => submitTask(engine, x, outcomes));
  expect(batches(child)).toEqual(one.map((task) => [task.id]));
  const all = [4, 5, 6].map((x) => makeTask(x, outcomes));
  engine.submitAll(all);
  expect(batches(child).slice(3)).toEqual([all.map((task) => task.id)]);
  child.answer([...one, ...all].map((task) => task.id));
  expect([...outcomes.values()]).toEqual([2, 4, 6, 8, 10, 12]);
});

test("a child's share of the queue counts the children still starting", () => {
  const { engine, children } = setUp({ processes: 4 });
  const tasks = Array.from({ length: 8 }, (_, x) => submitTask(engine, x, outcomes));
  children[0].ready(64);
  // Four children, three of them starting: the first takes a quarter, not all eight.
  expect(batches(children[0])).toEqual([tasks.slice(0, 2).map((t) => t.id)]);
});

test('with the queue empty, an idle child takes over half of what another holds and has not begun', () => {
  const { engine, children } = setUp();
  const [a, b] = children;
  a.ready(8);
  b.ready(1);
  const tasks = Array.from({ length: 7 }, (_, x) => submitTask(engine, x, outcomes));
  const held = a.taskIds;
  expect(b.taskIds).toHaveLength(1);
  a.claim(held[0]);
  // b finishes and asks again: a has begun one, and holds the rest ahead of their turn.
  b.answer(b.taskIds, 8);
  const takenOver = b.taskIds.slice(1);
  const waiting = held.slice(1);
  expect(takenOver).toEqual(waiting.slice(waiting.length - Math.ceil(waiting.length / 2)));
  // What a took back is skipped by a when it gets there; a runs the rest.
  for (const id of held) expect(a.claim(id)).toBe(!takenOver.includes(id));
  expect(tasks).toHaveLength(7);
});

test('a task with a clock goes only to a child that holds nothing, and its clock starts when it is sent', async () => {
  const { engine, children } = setUp();
  const [a, b] = children;
  a.ready(8);
  const plain = submitTask(engine, 1, outcomes);
  const timed = submitTask(engine, 2, outcomes, 30);
  expect(a.taskIds).toEqual([plain.id]);
  expect(b.taskIds).toEqual([]);
  b.ready(1);
  expect(b.taskIds).toEqual([timed.id]);
  await new Promise((resolve) => setTimeout(resolve, 60));
  expect(outcomes.get(timed.id)).toBeInstanceOf(TimeoutError);
  expect(b.signals).toEqual(['SIGTERM']);
  expect(a.signals).toEqual([]);
});

test('a timeout takes back what the child holds behind the stopped task before killing it', async () => {
  const { engine, children } = setUp({ processes: 1 });
  const [a] = children;
  a.ready(8);
  const timed = submitTask(engine, 1, outcomes, 20);
  const behind = [2, 3, 4].map((x) => submitTask(engine, x, outcomes));
  expect(a.taskIds).toEqual([timed, ...behind].map((t) => t.id));
  a.claim(timed.id);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(outcomes.get(timed.id)).toBeInstanceOf(TimeoutError);
  expect(a.signals).toEqual(['SIGTERM']);
  for (const task of behind) expect(a.claim(task.id)).toBe(false);
  a.die(null, 'SIGTERM');
  // The replacement runs them; none failed.
  const [, replacement] = children;
  replacement.ready(8);
  expect(replacement.taskIds).toEqual(behind.map((t) => t.id));
  expect(behind.map((t) => outcomes.has(t.id))).toEqual([false, false, false]);
});

test('a timeout whose child has moved on to the next task stops no child', async () => {
  const { engine, children } = setUp({ processes: 1 });
  const [a] = children;
  a.ready(8);
  const timed = submitTask(engine, 1, outcomes, 20);
  const next = submitTask(engine, 2, outcomes);
  a.claim(timed.id);
  a.claim(next.id);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(outcomes.get(timed.id)).toBeInstanceOf(TimeoutError);
  expect(a.signals).toEqual([]);
  a.answer([timed.id, next.id]);
  expect(outcomes.get(next.id)).toBe(4);
});

test('cancel() takes back a task held ahead of its turn, and refuses one the child has begun', () => {
  const { engine, children } = setUp({ processes: 1 });
  const [a] = children;
  a.ready(8);
  const [first, second] = [1, 2].map((x) => submitTask(engine, x, outcomes));
  a.claim(first.id);
  expect(engine.running(first)).toBe(true);
  expect(engine.running(second)).toBe(false);
  expect(engine.cancel(first)).toBe(false);
  expect(engine.cancel(second)).toBe(true);
  expect(a.claim(second.id)).toBe(false);
});

test('a crash fails what the child had begun and requeues what it had not', () => {
  const { engine, children } = setUp({ processes: 1, onWorkerCrash: 'respawn' });
  const [a] = children;
  a.ready(8);
  const tasks = [1, 2, 3, 4].map((x) => submitTask(engine, x, outcomes));
  a.answer([tasks[0].id]);
  a.claim(tasks[1].id);
  a.claim(tasks[2].id);
  a.die(7);
  // tasks[1] finished without its result being sent, tasks[2] was running: both ran, both fail.
  for (const task of tasks.slice(1, 3)) expect(outcomes.get(task.id)).toBeInstanceOf(BrokenPoolError);
  expect(outcomes.has(tasks[3].id)).toBe(false);
  const [, replacement] = children;
  replacement.ready(1);
  expect(replacement.taskIds).toEqual([tasks[3].id]);
  expect(engine.state).toBe('running');
});

test('a task that moved its buffers goes to a child holding nothing, is never taken back, and fails with its child', () => {
  const { engine, children } = setUp({ processes: 2, onWorkerCrash: 'respawn' });
  const [a, b] = children;
  a.ready(8);
  const first = submitTask(engine, 1, outcomes);
  const moved = submitTask(engine, 2, outcomes, undefined, [new ArrayBuffer(8)]);
  // a holds a task already: the moving one waits for a child with nothing in hand.
  expect(a.taskIds).toEqual([first.id]);
  b.ready(8);
  expect(b.taskIds).toEqual([moved.id]);
  // Not begun, and still not taken back: its buffers are the child's now.
  expect(engine.cancel(moved)).toBe(false);
  b.die(3);
  // It cannot run elsewhere without them: it fails with the child, as a task it had begun would.
  expect(outcomes.get(moved.id)).toBeInstanceOf(BrokenPoolError);
  expect(engine.state).toBe('running');
});

test("three children in a row dying before a first answer break a 'respawn' pool", () => {
  const { engine, children } = setUp({ processes: 1, onWorkerCrash: 'respawn' });
  const task = submitTask(engine, 1, outcomes);
  for (let i = 0; i < 3; i++) children[i].die(null, 'SIGKILL');
  expect(children).toHaveLength(3);
  expect(engine.state).toBe('broken');
  expect(outcomes.get(task.id)).toBeInstanceOf(BrokenPoolError);
});

test('an answer in between resets the count of failed starts', () => {
  const { engine, children } = setUp({ processes: 1, onWorkerCrash: 'respawn' });
  children[0].die(1);
  children[1].die(1);
  const task = submitTask(engine, 1, outcomes);
  children[2].ready(1);
  children[2].answer([task.id]);
  children[2].die(1);
  children[3].die(1);
  children[4].die(1);
  expect(engine.state).toBe('running');
  children[5].die(1);
  expect(engine.state).toBe('broken');
});

test('a message stamped by someone else than the child (a task calling process.send) is ignored', () => {
  const { engine, children } = setUp({ processes: 1 });
  const [a] = children;
  const task = submitTask(engine, 1, outcomes);
  a.events.message({ __forkpool__: 2, type: 'pool:ready', credits: 5 });
  expect(a.taskIds).toEqual([]);
  a.ready(1);
  // Once the child is ready, tasks run in it: a version message from one is a forgery, not a stale script.
  a.events.message({ __forkpool__: 'version', version: 1 });
  expect(engine.state).toBe('running');
  expect(a.taskIds).toEqual([task.id]);
  a.events.message({ __forkpool__: 2, type: 'pool:results', results: [{ id: task.id, values: [99] }], credits: 0 });
  expect(outcomes.has(task.id)).toBe(false);
});

test('a child of another protocol version breaks the pool at once, with a message that says so', () => {
  const { engine, children } = setUp({ processes: 1 });
  const task = submitTask(engine, 1, outcomes);
  children[0].events.message({ __forkpool__: 'version', version: 1 });
  expect(engine.state).toBe('broken');
  expect((outcomes.get(task.id) as Error).message).toMatch(/protocol version 1.*another release/);
});

test("a spawn that fails with an 'error' and no 'close' breaks the pool with the OS error as the cause", () => {
  const { engine, children } = setUp({ processes: 2 });
  const task = submitTask(engine, 1, outcomes);
  children[0].spawnFails(Object.assign(new Error('spawn /usr/bin/node ENOENT'), { code: 'ENOENT', path: '/no/such/dir' }));
  expect(engine.state).toBe('broken');
  const error = outcomes.get(task.id) as BrokenPoolError;
  expect(error).toBeInstanceOf(BrokenPoolError);
  expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  // The child that did start is stopped, and none is forked in the failed one's place.
  expect(children[1].signals).toEqual(['SIGTERM']);
  expect(children).toHaveLength(2);
});

test('a task aborted while it runs leaves its worker a moment to send the results of the tasks it ran before, then stops it', async () => {
  const { engine, children } = setUp({ processes: 1 });
  const [child] = children;
  child.ready(4);
  const first = submitTask(engine, 1, outcomes);
  const target = submitTask(engine, 2, outcomes);
  // The worker ran the first (its result waits to share a message) and began the target.
  expect(child.claim(first.id)).toBe(true);
  expect(child.claim(target.id)).toBe(true);
  const reason = new Error('aborted');
  engine.abort(target, reason);
  expect(outcomes.get(target.id)).toBe(reason);
  // Not stopped yet: the first's result would be lost with it.
  expect(child.signals).toEqual([]);
  child.answer([first.id]);
  expect(outcomes.get(first.id)).toBe(2);
  await new Promise((resolve) => setTimeout(resolve, 80));
  expect(child.signals).toEqual(['SIGTERM']);
});
