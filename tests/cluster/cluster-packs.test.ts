/**
 * Packs: a call with many quick chunks sends several in one job, sized by how long the function's chunks
 * took; each chunk of a pack still succeeds, fails, crashes and is cancelled on its own. Large inputs and
 * results travel in keys of their own, which leave Redis with their job.
 */
import path from 'node:path';
import { BrokenPoolError } from '../../src';
import { rejectionOf, sleep, useScratchDir, waitFor } from '../helpers';
import { marks, useCluster } from './cluster-helpers';

const cluster = useCluster();
const scratch = useScratchDir('forkpool-cluster-packs-');

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** How many jobs were added to `queue` so far, as its events stream says (it keeps 10,000 entries: enough here). */
async function jobsAdded(queue: string): Promise<number> {
  const entries = await cluster.client().xrange(`bull:${queue}:events`, '-', '+');
  return entries.filter(([, fields]) => fields[0] === 'event' && fields[1] === 'added').length;
}

/** The keys of `queue` that hold inputs or outcomes out of band. */
async function outOfBandKeys(queue: string): Promise<string[]> {
  return cluster.client().keys(`bull:${queue}:*:forkpool-*`);
}

/** The out-of-band keys of `queue` still there once none is, or after 5 s: they leave Redis with a pool's tick. */
async function outOfBandKeysLeft(queue: string): Promise<string[]> {
  const deadline = Date.now() + 5000;
  let left = await outOfBandKeys(queue);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = await outOfBandKeys(queue);
  }
  return left;
}

test('a map of many quick chunks travels in packs, far fewer jobs than chunks, its results in order', async () => {
  const queue = cluster.queue();
  await Promise.all([cluster.host(queue), cluster.host(queue)]);
  const pool = cluster.pool(queue);
  // What the function's chunks take is not known yet: the first jobs (a window of 8) carry one chunk each.
  expect(await pool.map('square', range(40), { chunksize: 1 })).toEqual(range(40).map((x) => x * x));
  const before = await jobsAdded(queue);
  expect(before).toBeGreaterThan(8);
  expect(await pool.map('square', range(2000), { chunksize: 5 })).toEqual(range(2000).map((x) => x * x));
  const jobs = (await jobsAdded(queue)) - before;
  expect(jobs).toBeLessThan(400 / 4);
  expect(pool.stats()).toMatchObject({ completed: 440, failed: 0, requeued: 0 });
});

test('chunks that take longer than a pack would are not packed: one job each', async () => {
  const queue = cluster.queue();
  await cluster.host(queue, { processes: 2 });
  const pool = cluster.pool(queue);
  const slow = Array.from({ length: 12 }, (_, i): [number, number] => [40, i]);
  expect(await pool.starmap('sleep', slow.slice(0, 4), { chunksize: 1 })).toEqual([0, 1, 2, 3]);
  const before = await jobsAdded(queue);
  expect(await pool.starmap('sleep', slow, { chunksize: 1 })).toEqual(range(12));
  expect((await jobsAdded(queue)) - before).toBe(12);
});

test("a failing item in a pack fails its own chunk: map rejects with its error, imap yields what comes before it", async () => {
  const queue = cluster.queue();
  await cluster.host(queue);
  const pool = cluster.pool(queue);
  const args = (bad: number) => range(1000).map((x): [number, number] => [x, bad]);
  await pool.starmap('squareUnless', args(-1), { chunksize: 4 });
  const before = await jobsAdded(queue);
  const error = await rejectionOf<TypeError>(pool.starmap('squareUnless', args(613), { chunksize: 4 }));
  expect(error).toBeInstanceOf(TypeError);
  expect(error.message).toBe('bad item 613');
  expect((await jobsAdded(queue)) - before).toBeLessThan(250 / 4);
  const seen: number[] = [];
  const thrown = await rejectionOf<TypeError>(
    (async () => {
      for await (const square of pool.imap((x: number) => {
        if (x === 613) throw new TypeError('bad item 613');
        return x * x;
      }, range(1000), { chunksize: 4 })) seen.push(square);
    })(),
  );
  expect(thrown.message).toBe('bad item 613');
  expect(seen).toEqual(range(613).map((x) => x * x));
});

test('a child that crashes in a pack fails its own chunk; the other chunks of the pack run once, and nothing is requeued', async () => {
  const queue = cluster.queue();
  const host = await cluster.host(queue);
  const pool = cluster.pool(queue);
  const file = path.join(scratch(), 'marks');
  await pool.starmap('markOrCrash', range(200).map((x): [string, number, number] => [file, -1 - x, -1000]), { chunksize: 2 });
  const before = await jobsAdded(queue);
  const error = await rejectionOf<BrokenPoolError>(pool.starmap('markOrCrash', range(400).map((x): [string, number, number] => [file, x, 250]), { chunksize: 2 }));
  expect(error).toBeInstanceOf(BrokenPoolError);
  expect(error.exitCode).toBe(9);
  expect(pool.broken).toBe(false);
  expect((await jobsAdded(queue)) - before).toBeLessThan(200 / 4);
  // The pack the crash was in goes on in the child that replaced it: each of its chunks ran once.
  let count = -1;
  while (count !== marks(file).length) {
    count = marks(file).length;
    await sleep(300);
  }
  const ran = marks(file).map(Number).filter((x) => x >= 0);
  expect(new Set(ran).size).toBe(ran.length);
  expect(ran).toContain(250);
  expect(pool.stats().requeued).toBe(0);
  expect(host.children.length).toBeGreaterThan(1);
  expect(await pool.apply('square', [5])).toBe(25);
});

test('terminate takes packs that wait in Redis back whole; a call keeps a window of jobs there, not of chunks', async () => {
  const queue = cluster.queue();
  const host = await cluster.host(queue);
  const pool = cluster.pool(queue, { processes: 1 });
  await pool.map('square', range(100), { chunksize: 1 });
  await host.kill();
  const client = cluster.client();
  const waiting = () => client.llen(`bull:${queue}:wait`);
  const result = pool.map('square', range(500_000), { chunksize: 500 });
  void result.catch(() => undefined);
  const deadline = Date.now() + 10_000;
  while ((await waiting()) < 8 && Date.now() < deadline) await sleep(20);
  await sleep(200);
  // A window of 8 jobs (processes 1), each a pack of many chunks (out of the map's 1,000), whose inputs are
  // in keys of their own.
  expect(await waiting()).toBe(8);
  expect(await outOfBandKeys(queue)).toHaveLength(8);
  pool.terminate();
  await pool.join();
  expect(await waiting()).toBe(0);
  expect(await outOfBandKeys(queue)).toEqual([]);
});

test('large inputs and results travel in keys of their own, which leave Redis once the pool has read them', async () => {
  const queue = cluster.queue();
  const pool = cluster.pool(queue);
  const big = Buffer.alloc(100_000, 7);
  const echoed = pool.apply('echo', [big]) as Promise<Buffer>;
  // No host yet: the job waits, its inputs in a key beside it, not in its data.
  const client = cluster.client();
  let keys: string[] = [];
  for (const deadline = Date.now() + 5000; keys.length === 0 && Date.now() < deadline; await sleep(20)) keys = await outOfBandKeys(queue);
  expect(keys).toEqual([expect.stringMatching(/:forkpool-in$/)]);
  const [job] = await client.lrange(`bull:${queue}:wait`, 0, -1);
  expect((await client.hget(`bull:${queue}:${job}`, 'data'))!.length).toBeLessThan(1000);
  await cluster.host(queue);
  expect(Buffer.compare(await echoed, big)).toBe(0);
  const many = await pool.map('echo', range(20).map((i) => Buffer.alloc(20_000, i)), { chunksize: 2 });
  expect(many.map((buffer) => (buffer as Buffer)[19_999])).toEqual(range(20));
  // The results came through keys too: what the events stream carries of them is small.
  const completed = (await client.xrange(`bull:${queue}:events`, '-', '+')).filter(([, fields]) => fields[1] === 'completed');
  // The apply's job, and the map's (one chunk each, or packs: that depends on how quick the first echo was).
  expect(completed.length).toBeGreaterThanOrEqual(2);
  for (const [, fields] of completed) expect(fields[fields.indexOf('returnvalue') + 1].length).toBeLessThan(200);
  // Read, and removed with the next tick.
  expect(await outOfBandKeysLeft(queue)).toEqual([]);
});

test("the values of jobs a call gave up while they ran leave Redis when they finish, not an hour later", async () => {
  const queue = cluster.queue();
  await Promise.all([cluster.host(queue), cluster.host(queue)]);
  const pool = cluster.pool(queue);
  const file = path.join(scratch(), 'marks');
  const args = range(8).map((i): [string, string, number] => [file, `m${i}`, 300]);
  // Each chunk returns 20 kB (out of band), 300 ms later: leave the loop at the first, while the others run.
  for await (const value of pool.imap((a: [string, string, number]) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('node:fs').appendFileSync(a[0], `start ${a[1]}\n`);
    const end = Date.now() + a[2];
    while (Date.now() < end);
    return Buffer.alloc(20_000, a[1]);
  }, args, { chunksize: 1 })) {
    expect((value as Buffer).length).toBe(20_000);
    break;
  }
  await waitFor(() => marks(file).length >= 2, 10_000, 'the other chunks to run');
  expect(await outOfBandKeysLeft(queue)).toEqual([]);
});
