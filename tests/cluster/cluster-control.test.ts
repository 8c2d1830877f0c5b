/**
 * Control of a cluster's work: no hoarding, backpressure, lazy input, cancel and abort across hosts,
 * terminate, the executor, runHost in this process, the `forkpool` command, and the options' checks.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { asCompleted, CancelledError, Future, PoolStateError } from '../../src';
import { ClusterPool, runHost } from '../../src/cluster';
import { endlessNaturals, fixture, rejectionOf, sleep, thrownBy, useScratchDir, waitFor } from '../helpers';
import { BIN, marks, TASKS, useCluster } from './cluster-helpers';

const cluster = useCluster();
const scratch = useScratchDir('forkpool-cluster-control-');
const run = promisify(execFile);

/** How many of the queue's jobs wait in Redis or run, now (read at one instant: a job moves from one list to the other). */
let reader: ReturnType<typeof cluster.client> | undefined;
async function jobsInRedis(queue: string): Promise<number> {
  reader ??= cluster.client();
  const replies = await reader.multi().llen(`bull:${queue}:wait`).llen(`bull:${queue}:active`).exec();
  return replies!.reduce((sum, [, count]) => sum + Number(count), 0);
}

/**
 * Resolves once no job of `queue` waits or runs, or fails after `timeout` ms saying how many are left. A job
 * whose task a host stopped leaves the active list a round trip after its child exits, not with it.
 */
async function untilNoJobs(queue: string, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (let left = await jobsInRedis(queue); left > 0; left = await jobsInRedis(queue)) {
    if (Date.now() > deadline) throw new Error(`${left} job(s) of ${queue} still in Redis after ${timeout} ms`);
    await sleep(20);
  }
}

test('a host takes no more jobs than it has processes: two long chunks run at once on two hosts of one process', async () => {
  const queue = cluster.queue();
  const hosts = await Promise.all([cluster.host(queue), cluster.host(queue)]);
  const pool = cluster.pool(queue);
  const file = path.join(scratch(), 'marks');
  const both = pool.starmap('mark', [[file, 'a', 600], [file, 'b', 600]], { chunksize: 1 });
  await waitFor(() => marks(file).length >= 2, 10_000, 'both chunks to start');
  // Both started before either finished, each in a child of its own host.
  expect(marks(file).slice(0, 2).every((line) => line.startsWith('start'))).toBe(true);
  const pids = marks(file).slice(0, 2).map((line) => Number(line.split(' ')[2]));
  expect(hosts.map((host) => host.children.some((pid) => pids.includes(pid)))).toEqual([true, true]);
  expect(await both).toEqual(['a', 'b']);
});

test('backpressure: a map keeps a bounded number of its chunks in Redis; the rest wait in the pool', async () => {
  const queue = cluster.queue();
  await cluster.host(queue);
  const pool = cluster.pool(queue, { processes: 1 });
  const result = pool.map((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)), Array(40).fill(50), { chunksize: 1 });
  let most = 0;
  let settled = false;
  void result.finally(() => (settled = true));
  while (!settled) {
    most = Math.max(most, await jobsInRedis(queue));
    await sleep(20);
  }
  expect((await result).length).toBe(40);
  expect(most).toBeGreaterThan(1);
  expect(most).toBeLessThanOrEqual(8);
});

test('imap reads its input lazily: an endless generator works, and leaving the loop stops reading it', async () => {
  const queue = cluster.queue();
  await cluster.host(queue);
  const pool = cluster.pool(queue);
  const input = endlessNaturals();
  const seen: number[] = [];
  // Chunks of 15 ms, most of what a pack holds (20 ms of work): a job each, 8 jobs read ahead at most.
  const slowSquare = (x: number) => {
    const end = Date.now() + 15;
    while (Date.now() < end);
    return x * x;
  };
  for await (const square of pool.imap(slowSquare, input.items, { chunksize: 2 })) {
    seen.push(square);
    if (seen.length === 10) break;
  }
  expect(seen).toEqual([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
  expect(input.closed).toBe(true);
  expect(input.produced).toBeLessThan(100);
});

test('imap of quick chunks reads further ahead, as far as the jobs the call may keep in Redis, and sends them in packs', async () => {
  const queue = cluster.queue();
  await cluster.host(queue);
  const pool = cluster.pool(queue, { processes: 1 });
  // What 'square' takes is known from here on: quick.
  await pool.map('square', Array.from({ length: 40 }, (_, i) => i), { chunksize: 1 });
  const input = endlessNaturals();
  const seen: number[] = [];
  for await (const square of pool.imap('square', input.items, { chunksize: 1 })) {
    seen.push(square as number);
    if (seen.length === 3000) break;
  }
  expect(seen).toEqual(Array.from({ length: 3000 }, (_, i) => i * i));
  expect(input.closed).toBe(true);
  // More than a window of 8 chunks ahead, and no more than 8 jobs of full packs (128 chunks at most).
  expect(input.produced).toBeGreaterThan(3000 + 8);
  expect(input.produced).toBeLessThanOrEqual(3000 + 8 * 128 + 1);
  const added = (await cluster.client().xrange(`bull:${queue}:events`, '-', '+')).filter(([, fields]) => fields[1] === 'added');
  expect(added.length).toBeLessThan(40 + 3000 / 4);
});

test('cancel(): a future no host has begun is cancelled and never runs; one that runs cannot be', async () => {
  const queue = cluster.queue();
  await cluster.host(queue);
  const executor = cluster.executor(queue);
  const file = path.join(scratch(), 'marks');
  const first = executor.submit('mark', file, 'first', 800);
  const second = executor.submit('mark', file, 'second', 10);
  await waitFor(() => first.running(), 10_000, 'the first to run');
  expect(first.cancel()).toBe(false);
  expect(second.cancel()).toBe(true);
  expect(second.cancelled()).toBe(true);
  await expect(second.result()).rejects.toBeInstanceOf(CancelledError);
  expect(await first.result()).toBe('first');
  await sleep(300);
  expect(marks(file).filter((line) => line.includes('second'))).toEqual([]);
  // The cancelled job left Redis.
  expect(await jobsInRedis(queue)).toBe(0);
});

test("an aborted signal rejects with its reason: a waiting job is removed, a running one is stopped on its host", async () => {
  const queue = cluster.queue();
  const host = await cluster.host(queue);
  const pool = cluster.pool(queue);
  const file = path.join(scratch(), 'marks');
  const controller = new AbortController();
  const running = rejectionOf(pool.apply('mark', [file, 'running', 60_000], { signal: controller.signal }));
  const waiting = rejectionOf(pool.apply('mark', [file, 'waiting', 10], { signal: controller.signal }));
  await waitFor(() => marks(file).length > 0, 10_000, 'the first to start');
  const child = Number(marks(file)[0].split(' ')[2]);
  controller.abort(new Error('enough'));
  expect(await running).toMatchObject({ message: 'enough' });
  expect(await waiting).toMatchObject({ message: 'enough' });
  // The host stopped the running one's child and replaced it.
  await waitFor(() => host.lines.includes(`exit ${child} aborted`), 5000, "the running task's child to be stopped");
  await untilNoJobs(queue);
  expect(marks(file)).toEqual([`start running ${child}`]);
  expect(await pool.apply('square', [6])).toBe(36);
});

test('terminate(): every unfinished call rejects, waiting jobs leave Redis, running ones are stopped on their hosts', async () => {
  const queue = cluster.queue();
  const host = await cluster.host(queue);
  const pool = new ClusterPool({ connection: cluster.redis.url, queue });
  const file = path.join(scratch(), 'marks');
  const calls = [0, 1, 2].map((i) => rejectionOf(pool.apply('mark', [file, `t${i}`, 60_000])));
  await waitFor(() => marks(file).length > 0, 10_000, 'a task to start');
  const child = Number(marks(file)[0].split(' ')[2]);
  pool.terminate();
  for (const error of await Promise.all(calls)) expect(error).toBeInstanceOf(PoolStateError);
  await pool.join();
  await waitFor(() => host.lines.includes(`exit ${child} aborted`), 5000, "the running task's child to be stopped");
  await untilNoJobs(queue);
  expect(marks(file)).toHaveLength(1);
  await expect(pool.apply('square', [1])).rejects.toBeInstanceOf(PoolStateError);
});

test('ClusterExecutor: submit, map, asCompleted and shutdown, with futures of the one Future class', async () => {
  const queue = cluster.queue();
  await Promise.all([cluster.host(queue), cluster.host(queue)]);
  const executor = cluster.executor(queue, { maxWorkers: 2 });
  expect(executor.maxWorkers).toBe(2);
  const futures = [3, 4, 5].map((n) => executor.submit('square', n));
  expect(futures[0]).toBeInstanceOf(Future);
  const done: number[] = [];
  for await (const future of asCompleted(futures, { timeout: 10_000 })) done.push(await future.result());
  expect(done.sort((a, b) => a - b)).toEqual([9, 16, 25]);
  const mapped: number[] = [];
  for await (const value of executor.map('square', [1, 2, 3], { timeout: 10_000 })) mapped.push(value);
  expect(mapped).toEqual([1, 4, 9]);
  await executor.shutdown();
  expect(() => executor.submit('square', 1)).toThrow(PoolStateError);
});

test('runHost() in this process: it takes jobs, is listed, and leaves the queue when closed', async () => {
  const queue = cluster.queue();
  const host = await runHost({ connection: cluster.redis.url, queue, module: TASKS, processes: 1 });
  try {
    const pool = cluster.pool(queue);
    const downs: string[] = [];
    pool.on('host-down', (info) => downs.push(`${info.id} ${info.reason}`));
    expect(await pool.apply('square', [12])).toBe(144);
    expect((await pool.hosts()).map((info) => info.id)).toEqual([host.id]);
    expect(host.pids).toHaveLength(1);
    await host.close();
    expect(await pool.hosts()).toEqual([]);
    expect(downs).toEqual([`${host.id} left`]);
  } finally {
    await host.close({ timeout: 0 });
  }
});

test('a host without --module fails the tasks that name an export, and runs the others', async () => {
  const queue = cluster.queue();
  await cluster.host(queue, { module: '' });
  const pool = cluster.pool(queue);
  const error = await rejectionOf<TypeError>(pool.apply('square', [2]));
  expect(error).toBeInstanceOf(TypeError);
  expect(error.message).toMatch(/started without one/);
  expect(await pool.apply((x: number) => x + 1, [1])).toBe(2);
});

test('a host whose children cannot start leaves the queue and exits with code 1, saying why', async () => {
  const queue = cluster.queue();
  const host = cluster.spawnHost(queue, { module: fixture('exits-at-load.js') });
  const { code } = await host.exited;
  expect(code).toBe(1);
  expect(host.stderr).toMatch(/broken/);
  expect(await cluster.pool(queue).hosts()).toEqual([]);
});

describe('the forkpool command', () => {
  test('--help says how to run a host', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'worker', '--help']);
    expect(stdout).toMatch(/^Usage: forkpool worker --redis <url>/);
    for (const option of ['--queue', '--module', '--processes', '--prefix', '--grace']) expect(stdout).toContain(option);
    expect((await run(process.execPath, [BIN, '--help'])).stdout).toBe(stdout);
  });

  test('a missing --redis or an unknown command exits with code 2 and says why', async () => {
    const missing = await rejectionOf<{ code: number; stderr: string }>(run(process.execPath, [BIN, 'worker']));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--redis <url> is required/);
    const unknown = await rejectionOf<{ code: number; stderr: string }>(run(process.execPath, [BIN, 'serve']));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'serve'/);
    const bad = await rejectionOf<{ code: number; stderr: string }>(run(process.execPath, [BIN, 'worker', '--redis', 'redis://x', '--processes', '0']));
    expect(bad.stderr).toMatch(/--processes needs a positive integer, got '0'/);
  });
});

test('options of the wrong type or value throw, naming the option', () => {
  const connection = cluster.redis.url;
  expect(thrownBy(() => new ClusterPool(undefined as never))).toMatchObject({ name: 'TypeError', message: expect.stringMatching(/connection/) });
  expect(thrownBy(() => new ClusterPool({ connection: 42 as never }))).toMatchObject({ message: expect.stringMatching(/`connection`/) });
  expect(thrownBy(() => new ClusterPool({ connection, queue: 'a:b' }))).toMatchObject({ message: expect.stringMatching(/`queue`/) });
  expect(thrownBy(() => new ClusterPool({ connection, hostLossTimeout: 0 }))).toBeInstanceOf(RangeError);
  expect(thrownBy(() => new ClusterPool({ connection, maxRequeues: -1 }))).toMatchObject({ name: 'RangeError', message: expect.stringMatching(/maxRequeues/) });
  expect(thrownBy(() => new ClusterPool({ connection, onHostLoss: 'retry' as never }))).toMatchObject({ message: expect.stringMatching(/onHostLoss/) });
  expect(thrownBy(() => new ClusterPool({ connection, maxPayloadBytes: 1.5 }))).toMatchObject({ message: expect.stringMatching(/maxPayloadBytes/) });
  expect(thrownBy(() => new ClusterPool({ connection, serialization: 'xml' as never }))).toMatchObject({ message: expect.stringMatching(/serialization/) });
  expect(thrownBy(() => new ClusterPool({ connection, errorClasses: [42] as never }))).toMatchObject({ message: expect.stringMatching(/errorClasses/) });
});
