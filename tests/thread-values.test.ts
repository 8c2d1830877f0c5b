/**
 * What only threads do with values: buffers that move rather than copy (the `transfer` option, transfer()
 * in a task or around an argument), a SharedArrayBuffer shared as it is, and SharedMemory, which a thread
 * attaches over the same pages and lets go of when the pool closes it.
 */
import { Pool, SharedMemory, ThreadPool, ThreadPoolExecutor, transfer } from '../src';
import { expectNoChildrenLeft } from './faults-helpers';
import { fixture, usePools } from './helpers';

const VALUES = fixture('thread-values.js');

afterAll(expectNoChildrenLeft);

const pools: Array<ThreadPool | ThreadPoolExecutor> = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) {
    if (pool instanceof ThreadPool) {
      pool.terminate();
      await pool.join();
    } else await pool.shutdown({ cancelFutures: true });
  }
});

function threadPool(): ThreadPool {
  const pool = new ThreadPool({ processes: 1, module: VALUES });
  pools.push(pool);
  return pool;
}

test("apply's transfer option moves an argument's buffer: detached here, whole there", async () => {
  const pool = threadPool();
  const array = new Float64Array([1, 2, 3, 4]);
  expect(await pool.apply('sum', [array], { transfer: [array.buffer] })).toBe(10);
  expect(array.buffer.byteLength).toBe(0);
});

test('transfer() in a task moves its result back; around an argument it moves that argument', async () => {
  const pool = threadPool();
  const filled = (await pool.apply('filled', [1000, 0.5])) as Float64Array;
  // (Jest's sandbox has typed array classes of its own: the tag tells the kind.)
  expect(Object.prototype.toString.call(filled)).toBe('[object Float64Array]');
  expect(filled.length).toBe(1000);
  expect(filled[999]).toBe(0.5);
  const executor = new ThreadPoolExecutor({ maxWorkers: 1, module: VALUES });
  pools.push(executor);
  const array = new Float64Array([5, 6]);
  expect(await executor.submit('sum', transfer(array, [array.buffer]))).toBe(11);
  expect(array.buffer.byteLength).toBe(0);
});

test('a SharedArrayBuffer is shared as it is: what the thread writes, the caller sees', async () => {
  const pool = threadPool();
  const shared = new Int32Array(new SharedArrayBuffer(16));
  expect(await pool.apply('store', [shared, 2, 42])).toBe('SharedArrayBuffer');
  expect(Atomics.load(shared, 2)).toBe(42);
});

test('SharedMemory reaches a thread over the same pages, and closing it here closes the thread’s view', async () => {
  const pool = threadPool();
  const block = SharedMemory.create(4096);
  expect(await pool.apply('keep', [block, 7])).toBe(4096);
  // What the thread wrote is here, with no copy back (where the native part shares pages).
  if (block.shared) expect(new Uint8Array(block.buffer)[0]).toBe(7);
  expect(await pool.apply('keptLength')).toBe(4096);
  block.close();
  // The pool passes the close on, in a message that comes before the next task: the thread's view ends too.
  expect(await pool.apply('keptLength')).toBe(0);
});

describe('Pool takes the same options and copies', () => {
  const makePool = usePools({ processes: 1, module: VALUES });

  test('the transfer option and transfer() leave the caller’s buffers as they were', async () => {
    const pool: Pool = makePool();
    const array = new Float64Array([1, 2, 3]);
    expect(await pool.apply('sum', [array], { transfer: [array.buffer] })).toBe(6);
    expect(await pool.apply('sum', [transfer(array, [array.buffer])])).toBe(6);
    expect(array.buffer.byteLength).toBe(24);
    expect(await pool.apply('filled', [3, 2])).toEqual(new Float64Array([2, 2, 2]));
  });
});
