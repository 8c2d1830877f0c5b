/**
 * ClusterPool's calls against a real Redis and two `forkpool worker` hosts: the Pool's API, its order, its
 * values and its errors, as on one machine.
 */
import path from 'node:path';
import { types } from 'node:util';
import { BasePool, BrokenPoolError, SharedMemory, TimeoutError } from '../../src';
import { ClusterPool } from '../../src/cluster';
import { rejectionOf, useScratchDir, waitFor } from '../helpers';
import { marks, useCluster, type HostProcess } from './cluster-helpers';

const cluster = useCluster();
const scratch = useScratchDir('forkpool-cluster-calls-');
let queue: string;
let hosts: HostProcess[];

beforeAll(async () => {
  queue = cluster.queue();
  hosts = await Promise.all([cluster.host(queue), cluster.host(queue)]);
}, 30_000);

test('apply, map, starmap, imap and imapUnordered give what a local pool gives', async () => {
  const pool = cluster.pool(queue);
  expect(pool).toBeInstanceOf(BasePool);
  expect(await pool.apply('square', [7])).toBe(49);
  expect(await pool.apply('add', [2, 3])).toBe(5);
  const items = Array.from({ length: 50 }, (_, i) => i);
  expect(await pool.map('square', items, { chunksize: 3 })).toEqual(items.map((x) => x * x));
  expect(await pool.map('square', items)).toEqual(items.map((x) => x * x));
  expect(await pool.starmap('add', [[1, 2], [3, 4]])).toEqual([3, 7]);
  const ordered: number[] = [];
  for await (const x of pool.imap('square', items, { chunksize: 4 })) ordered.push(x);
  expect(ordered).toEqual(items.map((x) => x * x));
  const unordered: number[] = [];
  for await (const x of pool.imapUnordered('square', items, { chunksize: 4 })) unordered.push(x);
  expect(unordered.sort((a, b) => a - b)).toEqual(items.map((x) => x * x));
  expect(await pool.applyAsync('square', [3]).get(10_000)).toBe(9);
  expect(await pool.mapAsync('square', [1, 2]).get()).toEqual([1, 4]);
});

test('imap keeps input order when later chunks finish first, on the other host', async () => {
  const pool = cluster.pool(queue);
  // The first item sleeps longest: the others finish before it, on the other host.
  const items: Array<[number, number]> = [[600, 0], [10, 1], [10, 2], [10, 3], [10, 4], [10, 5]];
  const late = (pair: [number, number]) => new Promise<number>((resolve) => setTimeout(() => resolve(pair[1]), pair[0]));
  const ordered: number[] = [];
  for await (const value of pool.imap(late, items, { chunksize: 1 })) ordered.push(value);
  expect(ordered).toEqual([0, 1, 2, 3, 4, 5]);
  const unordered: number[] = [];
  for await (const value of pool.imapUnordered(late, items, { chunksize: 1 })) unordered.push(value);
  expect(unordered[5]).toBe(0);
});

test('task references: names of the hosts\' module, { module, name }, inline functions', async () => {
  const pool = cluster.pool(queue);
  expect(await pool.apply({ module: path.join(__dirname, '..', 'fixtures', 'cluster-tasks.js'), name: 'add' }, [1, 1])).toBe(2);
  expect(await pool.apply((a: number, b: number) => a * b, [6, 7])).toBe(42);
  const error = await rejectionOf<Error & { code: string }>(pool.apply('noSuchTask' as 'square', [1]));
  expect(error.code).toBe('ERR_POOL_NO_SUCH_TASK');
  const outer = 3;
  const closure = await rejectionOf<Error & { code: string }>(pool.apply((x: number) => x * outer, [2]));
  expect(closure).toBeInstanceOf(ReferenceError);
  expect(closure.code).toBe('ERR_POOL_OUTER_VARIABLE');
});

test("values travel with structured clone: Map, Buffer, BigInt, Date and undefined arrive as they left", async () => {
  const pool = cluster.pool(queue);
  const value = { map: new Map([[1, 'one']]), set: new Set([2]), buffer: Buffer.from('hi'), big: 10n ** 20n, date: new Date(0), none: undefined, re: /x/g };
  const back = (await pool.apply('echo', [value])) as typeof value;
  expect(back).toEqual(value);
  expect(Buffer.isBuffer(back.buffer)).toBe(true);
  // Made in Node's main realm, as values that cross from a local child are: not jest's Map.
  expect(types.isMap(back.map)).toBe(true);
  expect(types.isSet(back.set)).toBe(true);
  expect(typeof back.big).toBe('bigint');
  expect('none' in back).toBe(true);
  // Numbers travel packed in long chunks, and come back as numbers.
  const numbers = Array.from({ length: 300 }, (_, i) => i + 0.5);
  expect(await pool.map('echo', numbers, { chunksize: 100 })).toEqual(numbers);
});

test("serialization 'json' sends JSON, and refuses what JSON would drop", async () => {
  const pool = cluster.pool(queue, { serialization: 'json' });
  expect(await pool.apply('echo', [{ a: [1, 'x', null] }])).toEqual({ a: [1, 'x', null] });
  expect(await pool.apply('echo', [Buffer.from('hi')])).toEqual({ type: 'Buffer', data: [104, 105] });
  const error = await rejectionOf<TypeError & { code: string }>(pool.apply('echo', [{ f: () => 1 }]));
  expect(error).toBeInstanceOf(TypeError);
  expect(error.code).toBe('ERR_POOL_UNSENDABLE');
  expect(error.message).toMatch(/arguments\.0\.f is a function|\.f is a function/);
});

test('an argument that cannot be sent fails its task alone with a TypeError', async () => {
  const pool = cluster.pool(queue);
  const error = await rejectionOf<TypeError & { code: string }>(pool.apply('echo', [{ f: () => 1 }]));
  expect(error).toBeInstanceOf(TypeError);
  expect(error.code).toBe('ERR_POOL_UNSENDABLE');
  // A SharedMemory block is this machine's: it cannot reach a host.
  using block = SharedMemory.create(4096);
  const shared = await rejectionOf<TypeError & { code: string }>(pool.apply('echo', [{ block }]));
  expect(shared).toMatchObject({ name: 'TypeError', code: 'ERR_POOL_UNSENDABLE', message: expect.stringMatching(/SharedMemory block .* cannot reach a host/) });
  expect(await pool.apply('square', [2])).toBe(4);
});

test("a task's error comes back as itself, with the host child's stack and the caller's", async () => {
  const pool = cluster.pool(queue);
  const error = await rejectionOf<RangeError & { code: string; detail: unknown }>(pool.apply('fail', ['no good']));
  expect(error).toBeInstanceOf(RangeError);
  expect(error.message).toBe('no good');
  expect(error.code).toBe('E_TASK');
  expect(error.detail).toEqual({ at: 'task' });
  expect(error.stack).toContain('cluster-tasks.js');
  expect(error.stack).toContain('cluster-calls.test.ts');
  // A map fails with its first failing item's error, that item's own.
  const failing = await rejectionOf<TypeError>(pool.starmap('squareUnless', [[1, 3], [3, 3], [4, 3]], { chunksize: 1 }));
  expect(failing).toBeInstanceOf(TypeError);
  expect(failing.message).toBe('bad item 3');
});

test("imap throws an item's error at its place, after the results before it, its own chunk's included", async () => {
  const pool = cluster.pool(queue);
  const fiveFails = (x: number) => {
    if (x === 5) throw new Error('five');
    return x;
  };
  const seen: number[] = [];
  const error = await rejectionOf<Error>(
    (async () => {
      for await (const x of pool.imap(fiveFails, [1, 2, 3, 4, 5, 6, 7], { chunksize: 3 })) seen.push(x);
    })(),
  );
  expect(seen).toEqual([1, 2, 3, 4]);
  expect(error.message).toBe('five');
  // Unordered, every item of the failing chunk that succeeded is yielded.
  const unordered: number[] = [];
  await rejectionOf(
    (async () => {
      for await (const x of pool.imapUnordered(fiveFails, [4, 5, 6], { chunksize: 3 })) unordered.push(x);
    })(),
  );
  expect(unordered.sort()).toEqual([4, 6]);
});

test('errorClasses: a class of the task module comes back as itself, with its own properties', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { QuotaError } = require('../fixtures/cluster-tasks') as typeof import('../fixtures/cluster-tasks');
  const pool = cluster.pool(queue, { errorClasses: [QuotaError] });
  const error = await rejectionOf<Error & { limit: number }>(pool.apply('overQuota', [10]));
  expect(error).toBeInstanceOf(QuotaError);
  expect(error.limit).toBe(10);
  expect(error.message).toBe('over the quota of 10');
  // Without it, an Error of that name.
  const plain = await rejectionOf<Error>(cluster.pool(queue).apply('overQuota', [10]));
  expect(plain).not.toBeInstanceOf(QuotaError);
  expect(plain.name).toBe('QuotaError');
});

test('a timeout fails the task with TimeoutError, once, and the pool goes on', async () => {
  const pool = cluster.pool(queue);
  const file = path.join(scratch(), 'marks');
  const error = await rejectionOf<TimeoutError>(pool.apply('mark', [file, 'slow', 5000], { timeout: 300 }));
  expect(error).toBeInstanceOf(TimeoutError);
  expect(error.timeout).toBe(300);
  expect(marks(file)).toHaveLength(1); // started once, never again: no retry
  expect(await pool.apply('square', [3])).toBe(9);
  expect(pool.broken).toBe(false);
});

test("a child that crashes on a host fails its task with BrokenPoolError; the host replaces it and nothing retries", async () => {
  const pool = cluster.pool(queue);
  const error = await rejectionOf<BrokenPoolError>(pool.apply('crash', [7]));
  expect(error).toBeInstanceOf(BrokenPoolError);
  expect(error.code).toBe('ERR_POOL_BROKEN');
  expect(error.exitCode).toBe(7);
  expect(error.pid).toEqual(expect.any(Number));
  expect(pool.broken).toBe(false);
  expect(await pool.apply('square', [4])).toBe(16);
  expect(pool.stats()).toMatchObject({ failed: 1, requeued: 0 });
});

test('events a task emits on a host reach onEvent and the pool, in order, before its result', async () => {
  const pool = cluster.pool(queue);
  const seen: unknown[] = [];
  const infos: Array<{ host: string; pid: number }> = [];
  pool.on('event', (value) => seen.push(['pool', value]));
  const result = await pool.apply('steps', [4], {
    onEvent: (value, info) => {
      seen.push(value);
      infos.push(info);
    },
  });
  expect(result).toBe(4);
  expect(seen.filter((value) => !Array.isArray(value))).toEqual([{ step: 1 }, { step: 2 }, { step: 3 }, { step: 4 }]);
  expect(seen.filter(Array.isArray)).toHaveLength(4);
  expect(hosts.map((host) => host.id)).toContain(infos[0].host);
  expect(hosts.flatMap((host) => host.children)).toContain(infos[0].pid);
});

test('a value over maxPayloadBytes fails its task with a RangeError naming the size and the limit', async () => {
  const pool = cluster.pool(queue, { maxPayloadBytes: 1024 });
  const big = await rejectionOf<RangeError & { code: string }>(pool.apply('echo', [Buffer.alloc(4096)]));
  expect(big).toBeInstanceOf(RangeError);
  expect(big.code).toBe('ERR_POOL_PAYLOAD_TOO_LARGE');
  expect(big.message).toMatch(/arguments take \d{4} bytes serialized, more than the pool's maxPayloadBytes of 1024 bytes/);
  const result = await rejectionOf<RangeError & { code: string }>(pool.apply('bytes', [4096]));
  expect(result).toBeInstanceOf(RangeError);
  expect(result.code).toBe('ERR_POOL_PAYLOAD_TOO_LARGE');
  expect(result.message).toMatch(/result take \d{4} bytes serialized/);
  expect(await pool.apply('square', [5])).toBe(25);
});

test('hosts() lists the live hosts; processes counts their processes; stats() counts the pool\'s tasks', async () => {
  const pool = cluster.pool(queue);
  const listed = await pool.hosts();
  expect(listed.map((host) => host.id).sort()).toEqual(hosts.map((host) => host.id).sort());
  for (const host of listed) expect(host).toEqual({ id: expect.any(String), hostname: expect.any(String), pid: expect.any(Number), slots: 1 });
  expect(listed.map((host) => host.pid).sort()).toEqual(hosts.map((host) => host.pid).sort());
  expect(pool.processes).toBe(2);
  await pool.map('square', [1, 2, 3], { chunksize: 1 });
  await rejectionOf(pool.apply('fail', ['x']));
  expect(pool.stats()).toEqual({
    processes: 2,
    starting: 0,
    idle: expect.any(Number),
    busy: expect.any(Number),
    queued: 0,
    running: 0,
    completed: 3,
    failed: 1,
    spawned: 2,
    crashed: 0,
    hosts: 2,
    requeued: 0,
    hostsLost: 0,
  });
});

test('a pool made before the hosts are up waits for them; host-up reports each', async () => {
  const late = cluster.queue();
  const pool = cluster.pool(late);
  const ups: string[] = [];
  pool.on('host-up', (info) => ups.push(info.id));
  const result = pool.apply('square', [9]);
  const host = await cluster.host(late);
  expect(await result).toBe(81);
  await waitFor(() => ups.includes(host.id!), 5000, 'host-up');
});

test('close() lets submitted work finish; join() rejects before close()', async () => {
  const pool = new ClusterPool({ connection: cluster.redis.url, queue });
  await expect(pool.join()).rejects.toMatchObject({ code: 'ERR_POOL_STATE' });
  const pending = pool.map('sleep', [200, 200, 200], { chunksize: 1 });
  pool.close();
  await expect(pool.apply('square', [1])).rejects.toMatchObject({ code: 'ERR_POOL_STATE' });
  expect(await pending).toEqual([undefined, undefined, undefined]);
  await pool.join();
});
