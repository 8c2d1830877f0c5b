/**
 * Worker threads that end when the pool did not ask them to (an uncaught error outside a task,
 * `process.exit()` in a task, `resourceLimits` exceeded), that hang, that never become ready, or that are
 * handed what cannot be sent: each as for a child process (faults-*.test.ts), with `threadId` where a child
 * has `pid`. Every pool here ends by itself, and no thread outlives its test file.
 */
import { BrokenPoolError, ThreadPool, TimeoutError, type ThreadPoolOptions } from '../src';
import { expectNoChildrenLeft } from './faults-helpers';
import { fixture, rejectionOf, waitFor } from './helpers';

const FAULTS = fixture('thread-faults.js');

afterAll(expectNoChildrenLeft);

/** A pool over the fault fixtures whose stderr is read, not printed: dying threads say why there. */
function faultyPool(options: ThreadPoolOptions = {}): { pool: ThreadPool; stderr: () => string } {
  const pool = new ThreadPool({ processes: 1, module: FAULTS, stderr: 'pipe', ...options });
  let text = '';
  pool.stderr!.on('data', (line: string) => (text += line));
  return { pool, stderr: () => text };
}

/** Close the pool and wait for its threads; an already broken pool is joined as it is. */
async function finish(pool: ThreadPool): Promise<void> {
  pool.close();
  await pool.join();
}

function expectBroken(error: unknown, threadIds: number[]): BrokenPoolError {
  expect(error).toBeInstanceOf(BrokenPoolError);
  const broken = error as BrokenPoolError;
  expect(threadIds).toContain(broken.threadId);
  expect(broken.pid).toBeUndefined();
  expect(broken.signal).toBeNull();
  expect(broken.message).toContain(`worker thread (threadId ${broken.threadId})`);
  return broken;
}

test('an uncaught error outside a task is a crash, with that error as the cause of the BrokenPoolError', async () => {
  const { pool, stderr } = faultyPool({ onWorkerCrash: 'respawn' });
  const exits: unknown[] = [];
  pool.on('exit', (info) => exits.push(info));
  // A timer the task left behind throws while the task still waits: the task fails with the crash.
  const [first] = pool.threadIds;
  const error = expectBroken(await rejectionOf(pool.apply('throwWhileWaiting', ['a timer left behind', 10, 5000])), [first]);
  expect(error.exitCode).toBe(1);
  expect((error.cause as Error).message).toBe('a timer left behind');
  expect(exits).toEqual([{ threadId: first, exitCode: 1, signal: null, reason: 'crashed' }]);
  expect(stderr()).toContain('a timer left behind');
  // A timer that throws once its task is over takes an idle thread: it is replaced, nothing fails.
  const second = await pool.apply('throwLater', ['after the task']);
  await waitFor(() => exits.length === 2, 5000, 'the second thread to die');
  expect(exits[1]).toEqual({ threadId: second, exitCode: 1, signal: null, reason: 'crashed' });
  expect(await pool.apply('square', [3])).toBe(9);
  await finish(pool);
});

test('process.exit() in a task ends the thread, not the process: BrokenPoolError with its threadId and code', async () => {
  const { pool } = faultyPool();
  const ids = pool.threadIds;
  const error = expectBroken(await rejectionOf(pool.apply('exitWith', [3])), ids);
  expect(error.exitCode).toBe(3);
  expect(pool.broken).toBe(true);
  expect(await rejectionOf(pool.apply('square', [2]))).toBeInstanceOf(BrokenPoolError);
  await pool.join();
});

test("with 'respawn', a thread that exits is replaced and the pool goes on", async () => {
  const { pool } = faultyPool({ onWorkerCrash: 'respawn' });
  const [first] = pool.threadIds;
  expectBroken(await rejectionOf(pool.apply('exitWith', [4])), [first]);
  expect(await pool.apply('square', [5])).toBe(25);
  expect(pool.threadIds).not.toContain(first);
  expect(pool.stats()).toMatchObject({ crashed: 1, spawned: 2 });
  await finish(pool);
});

test('resourceLimits exceeded: the thread dies of it, a crash whose cause is Node’s error', async () => {
  const { pool } = faultyPool({ resourceLimits: { maxOldGenerationSizeMb: 16 } });
  const ids = pool.threadIds;
  const error = expectBroken(await rejectionOf(pool.apply('hog')), ids);
  expect(error.exitCode).toBe(1);
  expect(error.cause).toMatchObject({ code: 'ERR_WORKER_OUT_OF_MEMORY' });
  await pool.join();
});

test('a synchronous infinite loop past its timeout: the thread is terminated and replaced', async () => {
  const { pool } = faultyPool();
  const [spinner] = pool.threadIds;
  const error = await rejectionOf(pool.apply('spin', [], { timeout: 200 }));
  expect(error).toBeInstanceOf(TimeoutError);
  expect(pool.broken).toBe(false);
  expect(await pool.apply('id')).not.toBe(spinner);
  expect(pool.threadIds).not.toContain(spinner);
  await finish(pool);
});

test('threads that never become ready break the pool after a few tries instead of starting forever', async () => {
  const { pool } = faultyPool({ onWorkerCrash: 'respawn', initializer: { module: fixture('thread-exits-at-load.js'), name: 'never' } });
  const error = await rejectionOf(pool.apply('square', [3]));
  expect(error).toBeInstanceOf(BrokenPoolError);
  expect((error as BrokenPoolError).exitCode).toBe(5);
  expect((error as BrokenPoolError).message).toMatch(/before it had finished a first task.*broken/);
  await pool.join();
  expect(pool.stats().spawned).toBeLessThanOrEqual(3);
});

test('an unsendable argument or result fails that task with a TypeError; the pool stays healthy', async () => {
  const { pool } = faultyPool();
  const argument = await rejectionOf(pool.apply('square', [() => 1]));
  expect(argument).toBeInstanceOf(TypeError);
  expect(argument).toMatchObject({ code: 'ERR_POOL_UNSENDABLE' });
  const result = await rejectionOf(pool.apply('returnsFunction'));
  expect(result).toBeInstanceOf(TypeError);
  expect((result as Error).message).toMatch(/could not be/);
  // A transfer list of something that cannot move fails that call alone; a buffer moved is detached here.
  const buffer = new ArrayBuffer(8);
  expect(await rejectionOf(pool.apply((b: ArrayBuffer) => b.byteLength, [buffer], { transfer: [{} as ArrayBuffer] }))).toBeInstanceOf(TypeError);
  expect(await pool.apply((b: ArrayBuffer) => b.byteLength, [buffer], { transfer: [buffer] })).toBe(8);
  expect(buffer.byteLength).toBe(0);
  expect(await pool.apply('square', [6])).toBe(36);
  expect(pool.broken).toBe(false);
  await finish(pool);
});

test('an initializer that throws breaks the pool, its error the cause', async () => {
  const { pool } = faultyPool({ initializer: 'failInit', initargs: ['no setup today'] });
  const error = await rejectionOf(pool.apply('square', [2]));
  expect(error).toBeInstanceOf(BrokenPoolError);
  expect((error as BrokenPoolError).threadId).toEqual(expect.any(Number));
  expect((error as BrokenPoolError).cause).toBeInstanceOf(TypeError);
  expect(((error as BrokenPoolError).cause as Error).message).toBe('no setup today');
  expect(pool.broken).toBe(true);
  await pool.join();
});
