/**
 * The cluster's targets at full size, on a real Redis and real hosts: no result lost by a caller whose
 * event loop is blocked while more jobs finish than BullMQ's events stream keeps, and a SIGKILLed host's
 * chunk done elsewhere within hostLossTimeout + 2 s, once. `npm run test:slow` runs them.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { sleep, useScratchDir, waitFor } from '../../helpers';
import { marks, useCluster } from '../../cluster/cluster-helpers';

const cluster = useCluster();
const scratch = useScratchDir('forkpool-cluster-targets-');

/** How many of the queue's jobs have completed, asked without the event loop (which is blocked). */
function completed(queue: string): number {
  const answer = spawnSync('redis-cli', ['-p', String(cluster.redis.port), 'ZCARD', `bull:${queue}:completed`], { encoding: 'utf8' });
  return Number(answer.stdout.trim());
}

test('15,000 jobs finish while the caller is blocked for 5 s: every result arrives, once, though the events stream kept few of them', async () => {
  const queue = cluster.queue();
  const pool = cluster.pool(queue);
  const jobs = 15_000;
  const settled = new Array<number>(jobs).fill(0);
  const calls = Array.from({ length: jobs }, (_, i) =>
    pool.apply('square', [i]).then((value) => {
      settled[i]++;
      return value;
    }),
  );
  // Every job in Redis, and no host yet.
  const client = cluster.client();
  const deadline = Date.now() + 60_000;
  while ((await client.llen(`bull:${queue}:wait`)) < jobs) {
    if (Date.now() > deadline) throw new Error('The jobs did not all reach Redis within a minute');
    await sleep(50);
  }
  // The hosts start and run every job while this process is blocked: it reads no event meanwhile.
  cluster.spawnHost(queue, { processes: 2 });
  cluster.spawnHost(queue, { processes: 2 });
  const started = Date.now();
  while (Date.now() - started < 5000 || completed(queue) < jobs) {
    if (Date.now() - started > 120_000) throw new Error(`Only ${completed(queue)} of ${jobs} jobs completed in two minutes`);
  }
  expect(await Promise.all(calls)).toEqual(Array.from({ length: jobs }, (_, i) => i * i));
  expect(settled.every((count) => count === 1)).toBe(true);
  expect(pool.stats()).toMatchObject({ completed: jobs, failed: 0, requeued: 0 });
  // The stream lost most of what was added to it: what was trimmed, the pool read from the jobs' records.
  const info = (await client.xinfo('STREAM', `bull:${queue}:events`)) as unknown[];
  expect(Number(info[info.indexOf('entries-added') + 1]) - Number(info[info.indexOf('length') + 1])).toBeGreaterThan(jobs);
}, 240_000);

test("a SIGKILLed host's chunk is done elsewhere within hostLossTimeout + 2 s, and its result is the pool's once", async () => {
  const queue = cluster.queue();
  const hosts = await Promise.all([cluster.host(queue), cluster.host(queue)]);
  const hostLossTimeout = 2000;
  const pool = cluster.pool(queue, { hostLossTimeout });
  const file = path.join(scratch(), 'marks');
  const requeued: string[] = [];
  pool.on('requeued', (info) => requeued.push(info.host));
  // Other chunks around it, so that both hosts are busy.
  const around = pool.map('square', Array.from({ length: 200 }, (_, i) => i), { chunksize: 10 });
  const chunk = pool.starmap('mark', [[file, 'chunk', 50, 120_000]]);
  await waitFor(() => marks(file).length > 0, 20_000, 'the chunk to start');
  const pid = Number(marks(file)[0].split(' ')[2]);
  const victim = hosts.find((host) => host.children.includes(pid))!;
  const killedAt = Date.now();
  victim.signal('SIGKILL');
  expect(await chunk).toEqual(['chunk']);
  const recovery = Date.now() - killedAt;
  expect(recovery).toBeLessThan(hostLossTimeout + 2000);
  expect(await around).toEqual(Array.from({ length: 200 }, (_, i) => i * i));
  expect(requeued).toEqual([victim.id]);
  expect(marks(file).filter((line) => line.startsWith('done'))).toHaveLength(1);
  await victim.kill();
}, 120_000);
