/**
 * What a cluster does when a machine fails: hosts killed (SIGKILL), frozen (SIGSTOP) and thawed (SIGCONT),
 * closed (SIGTERM); Redis killed, frozen, or restarted empty; a caller whose event loop is blocked while the
 * events stream is trimmed. Real processes throughout.
 */
import path from 'node:path';
import { Queue } from 'bullmq';
import { BrokenPoolError } from '../../../src';
import { BackendError, HostLostError } from '../../../src/cluster';
import { rejectionOf, sleep, useScratchDir, waitFor } from '../../helpers';
import { marks, useCluster, withRedis, type HostProcess } from '../../cluster/cluster-helpers';

const cluster = useCluster();
const scratch = useScratchDir('forkpool-cluster-faults-');
/** The figure: short enough for the tests, long enough that a busy machine's hosts are never thought lost. */
const HOST_LOSS_TIMEOUT = 2000;

/** The host whose child ran the task that wrote `line` (`start <label> <pid>`). */
function hostOf(hosts: HostProcess[], file: string, label: string): HostProcess {
  const line = marks(file).find((text) => text.startsWith(`start ${label} `));
  const pid = Number(line?.split(' ')[2]);
  const host = hosts.find((candidate) => candidate.children.includes(pid));
  if (host === undefined) throw new Error(`No host ran ${label} (pid ${pid}); marks: ${marks(file).join(', ')}`);
  return host;
}

describe('a lost host', () => {
  test("killed (SIGKILL): its chunk runs again on another host, within hostLossTimeout + 2 s, and comes back once", async () => {
    const queue = cluster.queue();
    const hosts = await Promise.all([cluster.host(queue), cluster.host(queue)]);
    const pool = cluster.pool(queue, { hostLossTimeout: HOST_LOSS_TIMEOUT });
    const events: string[] = [];
    pool.on('requeued', (info) => events.push(`requeued ${info.host} ${info.requeues}`));
    pool.on('host-down', (info) => events.push(`down ${info.id} ${info.reason}`));
    const file = path.join(scratch(), 'marks');
    // Slow on its first run only: the run that follows a loss finishes at once.
    const running = pool.starmap('mark', [[file, 'lost', 100, 60_000]]);
    await waitFor(() => marks(file).some((line) => line.startsWith('start lost')), 10_000, 'the chunk to start');
    const victim = hostOf(hosts, file, 'lost');
    const killedAt = Date.now();
    victim.signal('SIGKILL');
    expect(await running).toEqual(['lost']);
    expect(Date.now() - killedAt).toBeLessThan(HOST_LOSS_TIMEOUT + 2000);
    const starts = marks(file).filter((line) => line.startsWith('start lost'));
    expect(starts).toHaveLength(2);
    expect(hostOf(hosts, file, 'lost')).toBe(victim);
    expect(events).toContain(`requeued ${victim.id} 1`);
    await waitFor(() => events.includes(`down ${victim.id} lost`), 5000, 'host-down');
    expect(pool.stats()).toMatchObject({ requeued: 1, hostsLost: 1, completed: 1, failed: 0 });
    // The killed host's children saw their parent die, and exited.
    await victim.kill();
  });

  test('killed (SIGKILL) while it runs a pack: every chunk of the pack runs again elsewhere, and each result comes back once', async () => {
    const queue = cluster.queue();
    const hosts = await Promise.all([cluster.host(queue), cluster.host(queue)]);
    const pool = cluster.pool(queue, { hostLossTimeout: HOST_LOSS_TIMEOUT });
    const file = path.join(scratch(), 'marks');
    const labels = Array.from({ length: 300 }, (_, i) => `c${i}`);
    // Quick chunks: once the pool knows it, the map's chunks travel in packs.
    await pool.starmap('mark', labels.slice(0, 40).map((label): [string, string, number] => [path.join(scratch(), 'warm'), label, 0]));
    let requeued = 0;
    pool.on('requeued', () => requeued++);
    // One chunk is slow on its first run only: its pack holds its host until the host is killed.
    const args = labels.map((label): [string, string, number, number?] => (label === 'c200' ? [file, label, 0, 60_000] : [file, label, 0]));
    const running = pool.starmap('mark', args, { chunksize: 1 });
    await waitFor(() => marks(file).some((line) => line.startsWith('start c200 ')), 20_000, 'the slow chunk to start');
    const victim = hostOf(hosts, file, 'c200');
    const killedAt = Date.now();
    victim.signal('SIGKILL');
    expect(await running).toEqual(labels);
    expect(Date.now() - killedAt).toBeLessThan(HOST_LOSS_TIMEOUT + 2000);
    // The whole pack went back: more than the one chunk, each of them once more.
    expect(requeued).toBeGreaterThan(1);
    expect(pool.stats().requeued).toBe(requeued);
    expect(marks(file).filter((line) => line.startsWith('start c200 '))).toHaveLength(2);
    await victim.kill();
  });

  test("frozen (SIGSTOP): its chunk runs elsewhere; thawed (SIGCONT), its late result is discarded", async () => {
    const queue = cluster.queue();
    const hosts = await Promise.all([cluster.host(queue), cluster.host(queue)]);
    const pool = cluster.pool(queue, { hostLossTimeout: HOST_LOSS_TIMEOUT });
    const file = path.join(scratch(), 'marks');
    const outcome = pool.starmap('mark', [[file, 'frozen', 50, 1500]], { chunksize: 1 });
    await waitFor(() => marks(file).some((line) => line.startsWith('start frozen')), 10_000, 'the chunk to start');
    const victim = hostOf(hosts, file, 'frozen');
    victim.signal('SIGSTOP');
    expect(await outcome).toEqual(['frozen']);
    expect(pool.stats()).toMatchObject({ requeued: 1, completed: 1 });
    victim.signal('SIGCONT');
    // The thawed host finishes or drops its copy; nothing of it reaches the pool, which goes on.
    await waitFor(() => marks(file).filter((line) => line.startsWith('done frozen')).length >= 1, 5000, 'the rerun to finish');
    await sleep(500);
    expect(await pool.map('square', [1, 2, 3], { chunksize: 1 })).toEqual([1, 4, 9]);
    expect(pool.stats()).toMatchObject({ requeued: 1, completed: 4, failed: 0 });
  });

  test("onHostLoss 'fail' fails the chunk with HostLostError, a BrokenPoolError naming the host", async () => {
    const queue = cluster.queue();
    const [host] = await Promise.all([cluster.host(queue)]);
    const pool = cluster.pool(queue, { hostLossTimeout: HOST_LOSS_TIMEOUT, onHostLoss: 'fail' });
    const file = path.join(scratch(), 'marks');
    const outcome = rejectionOf<HostLostError>(pool.starmap('mark', [[file, 'once', 60_000]]));
    await waitFor(() => marks(file).length > 0, 10_000, 'the chunk to start');
    host.signal('SIGKILL');
    const error = await outcome;
    expect(error).toBeInstanceOf(HostLostError);
    expect(error).toBeInstanceOf(BrokenPoolError);
    expect(error.code).toBe('ERR_POOL_HOST_LOST');
    expect(error.host).toBe(host.id);
    expect(error.pid).toBe(host.pid);
    expect(error.requeues).toBe(0);
    expect(error.message).toMatch(/onHostLoss is 'fail'/);
    expect(pool.broken).toBe(false);
    expect(pool.stats()).toMatchObject({ requeued: 0, failed: 1 });
  });

  test('a chunk lost more than maxRequeues times fails with HostLostError', async () => {
    const queue = cluster.queue();
    const hosts = await Promise.all([cluster.host(queue), cluster.host(queue)]);
    const pool = cluster.pool(queue, { hostLossTimeout: HOST_LOSS_TIMEOUT, maxRequeues: 1 });
    const file = path.join(scratch(), 'marks');
    const outcome = rejectionOf<HostLostError>(pool.starmap('mark', [[file, 'twice', 60_000]]));
    for (const round of [1, 2]) {
      await waitFor(() => marks(file).length === round, 10_000, `run ${round} to start`);
      const victim = hosts.find((host) => host.children.includes(Number(marks(file)[round - 1].split(' ')[2])))!;
      victim.signal('SIGKILL');
    }
    const error = await outcome;
    expect(error).toBeInstanceOf(HostLostError);
    expect(error.requeues).toBe(1);
    expect(error.message).toMatch(/requeued 1 times already, the pool's maxRequeues/);
    expect(pool.stats()).toMatchObject({ requeued: 1, failed: 1 });
    expect(pool.stats().hostsLost).toBeGreaterThanOrEqual(2);
  });
});

describe('a host that closes', () => {
  test('SIGTERM: it takes no more jobs, finishes the chunk it holds, and leaves', async () => {
    const queue = cluster.queue();
    const host = await cluster.host(queue);
    const pool = cluster.pool(queue);
    const downs: string[] = [];
    pool.on('host-down', (info) => downs.push(`${info.id} ${info.reason}`));
    const file = path.join(scratch(), 'marks');
    const outcome = pool.starmap('mark', [[file, 'last', 500]]);
    await waitFor(() => marks(file).length > 0, 10_000, 'the chunk to start');
    await pool.hosts();
    host.signal('SIGTERM');
    expect(await outcome).toEqual(['last']);
    expect(await host.exited).toEqual({ code: 0, signal: null });
    expect(await pool.hosts()).toEqual([]);
    expect(downs).toEqual([`${host.id} left`]);
  });

  test('past its grace, it hands the chunk back to the queue, and another host runs it (not a loss)', async () => {
    const queue = cluster.queue();
    const first = await cluster.host(queue, { args: ['--grace', '200'] });
    const pool = cluster.pool(queue);
    const file = path.join(scratch(), 'marks');
    const outcome = pool.starmap('mark', [[file, 'handed', 100, 60_000]]);
    await waitFor(() => marks(file).length > 0, 10_000, 'the chunk to start');
    first.signal('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    await cluster.host(queue);
    expect(await outcome).toEqual(['handed']);
    expect(marks(file).filter((line) => line.startsWith('start'))).toHaveLength(2);
    expect(pool.stats()).toMatchObject({ requeued: 0, completed: 1 });
  });
});

describe('Redis', () => {
  test('killed: pending calls reject within redisTimeout with BackendError, and so do later ones', async () => {
    await withRedis(async (redis) => {
      const queue = cluster.queue();
      const pool = cluster.pool(queue, { connection: redis.url, redisTimeout: 1000 });
      const pending = rejectionOf<BackendError>(pool.apply('sleep', [60_000]));
      await sleep(200);
      const killedAt = Date.now();
      await redis.kill();
      const error = await pending;
      expect(Date.now() - killedAt).toBeLessThan(5000);
      expect(error).toBeInstanceOf(BackendError);
      expect(error).toBeInstanceOf(BrokenPoolError);
      expect(error.code).toBe('ERR_POOL_BACKEND');
      expect(error.message).toMatch(/Redis \(redis:\/\/127\.0\.0\.1:\d+\) has not answered for more than 1000 ms/);
      expect((error as Error & { cause?: unknown }).cause).toMatchObject({ code: 'ECONNREFUSED' });
      expect(pool.broken).toBe(true);
      await expect(pool.apply('square', [1])).rejects.toBeInstanceOf(BackendError);
    });
  });

  test('frozen (SIGSTOP): pending calls reject within redisTimeout', async () => {
    await withRedis(async (redis) => {
      const queue = cluster.queue();
      const pool = cluster.pool(queue, { connection: redis.url, redisTimeout: 1000 });
      await pool.hosts();
      redis.signal('SIGSTOP');
      const listing = rejectionOf<BackendError>(pool.hosts());
      const error = await rejectionOf<BackendError>(pool.apply('square', [2]));
      expect(error).toBeInstanceOf(BackendError);
      expect(error.message).toMatch(/has not answered/);
      expect(await listing).toBeInstanceOf(BackendError);
    });
  });

  test('restarted empty: the calls whose jobs it lost reject with BackendError', async () => {
    await withRedis(async (redis) => {
      const queue = cluster.queue();
      const pool = cluster.pool(queue, { connection: redis.url });
      // No host: the job waits in Redis until Redis forgets it.
      const pending = rejectionOf<BackendError>(pool.apply('square', [3]));
      await waitFor(() => pool.stats().queued === 1, 5000, 'the job to be queued');
      await sleep(300);
      await redis.kill();
      await redis.start(redis.port);
      const error = await pending;
      expect(error).toBeInstanceOf(BackendError);
      expect(error.message).toMatch(/no longer has the pool's jobs/);
    });
  });
});

test("a caller whose event loop is blocked while the events stream is trimmed loses no result: it reads the job records", async () => {
  const queue = cluster.queue();
  // A stream that keeps few events: BullMQ trims it as the jobs finish.
  const admin = new Queue(queue, { connection: { url: cluster.redis.url }, streams: { events: { maxLen: 10 } } });
  await admin.waitUntilReady();
  await admin.getVersion();
  await Promise.all([cluster.host(queue, { processes: 2 }), cluster.host(queue, { processes: 2 })]);
  const pool = cluster.pool(queue);
  const jobs = 400;
  const calls = Array.from({ length: jobs }, (_, i) => pool.apply('square', [i]));
  const client = cluster.client();
  // The jobs went to Redis together (one transaction): once one is done, all are there.
  await calls[0];
  // Block this process while the hosts finish the jobs and the stream drops most of their events.
  const until = Date.now() + 3000;
  while (Date.now() < until) {
    // busy: no event is read
  }
  expect(await Promise.all(calls)).toEqual(Array.from({ length: jobs }, (_, i) => i * i));
  // The stream dropped most of what was added to it: the pool read the job records.
  const info = (await client.xinfo('STREAM', `bull:${queue}:events`)) as unknown[];
  const added = Number(info[info.indexOf('entries-added') + 1]);
  const kept = Number(info[info.indexOf('length') + 1]);
  expect(added - kept).toBeGreaterThan(jobs);
  await admin.close();
});
