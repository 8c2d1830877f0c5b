/**
 * Ctrl-C: children ignore SIGINT, so the signal a terminal sends to the whole process group leaves the
 * decision to the parent; a parent that handles SIGINT can still collect its results.
 */
import { Pool } from '../src';
import { fixture, isAlive, sleep, waitFor } from './helpers';
import { expectNoChildrenLeft, Script } from './faults-helpers';

let pool: Pool | undefined;
let script: Script | undefined;

afterEach(async () => {
  script?.kill();
  script = undefined;
  if (pool !== undefined) {
    pool.terminate();
    await pool.join();
    pool = undefined;
  }
});

afterAll(expectNoChildrenLeft);

/** Run tasks until every child has answered one: each has installed its handlers by then. */
async function everyChildReady(p: Pool): Promise<number[]> {
  const seen = new Set<number>();
  while (!p.pids.every((pid) => seen.has(pid))) {
    // A task with a timeout goes only to a child with nothing else in hand: these spread across children.
    const pids = await Promise.all(p.pids.map(() => p.apply('sleepPid', [30], { timeout: 60000 })));
    for (const pid of pids as number[]) seen.add(pid);
  }
  return p.pids;
}

test('children survive SIGINT, idle or busy, and keep working', async () => {
  pool = new Pool({ processes: 2, module: fixture('hang.js') });
  const pids = await everyChildReady(pool);

  for (const pid of pids) process.kill(pid, 'SIGINT');
  // Busy this time: each child is in the middle of a task when the signal comes.
  const running = pool.map('sleepPid', [400, 400], { chunksize: 1, timeout: 60000 });
  await sleep(100);
  for (const pid of pids) process.kill(pid, 'SIGINT');
  expect(new Set(await running)).toEqual(new Set(pids));

  expect(pids.every(isAlive)).toBe(true);
  expect(pool.broken).toBe(false);
  expect(pool.pids.sort()).toEqual([...pids].sort());
  expect(await pool.map('square', [1, 2, 3, 4, 5], { chunksize: 1 })).toEqual([1, 4, 9, 16, 25]);
});

test('a parent that handles SIGINT sent to its whole process group still collects its results', async () => {
  script = new Script('sigint-parent.js', [], { detached: true });
  const [line] = await script.waitForLines('pids');
  const pids = line.split(' ').map(Number);
  // Wait until both children run a task: the signal then comes while results are still in flight.
  await waitFor(() => new Set(script!.linesOf('started')).size === 2, 10000, 'both children to start a task');

  // What a terminal does on Ctrl-C: the signal goes to every process of the foreground group.
  process.kill(-script.pid, 'SIGINT');
  const { code, signal } = await script.exited;
  expect(script.lines).toContain('sigint');
  const [result] = script.linesOf('RESULT');
  expect(JSON.parse(result)).toEqual({ interrupted: true, values: [1, 4, 9, 16], broken: false });
  expect(script.lines).toContain('done');
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  expect(pids.every((pid) => !isAlive(pid))).toBe(true);
});
