/**
 * maxTasksPerChild: a child leaves after that many tasks (a chunk is one task) and a fresh one, with its
 * initializer run, takes its place; no task is lost or run twice.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fixture, isAlive, useScratchDir, waitFor } from './helpers';
import { KINDS, idOf, idsOf, usePoolsOf, workerAlive, type AnyPool } from './kinds';

const TASKS = fixture('tasks.js');

// Untyped pools: the tasks are named by strings of a JavaScript module.
describe.each(KINDS)('%s', (_name, kind) => {
  const makePool = usePoolsOf(kind, { processes: 1 });

  const scratch = useScratchDir('forkpool-recycling-', 'file');

  /** Lengths of the runs of equal values, in order. */
  function runLengths(values: unknown[]): number[] {
    const lengths: number[] = [];
    values.forEach((value, i) => {
      if (i > 0 && value === values[i - 1]) lengths[lengths.length - 1]++;
      else lengths.push(1);
    });
    return lengths;
  }

  test('the child is replaced after maxTasksPerChild tasks', async () => {
    const pool = makePool({ maxTasksPerChild: 2, module: TASKS });
    const pids: number[] = [];
    for (let i = 0; i < 6; i++) pids.push(await pool.apply('pid'));
    expect(runLengths(pids)).toEqual([2, 2, 2]);
    expect(new Set(pids).size).toBe(3);
    // The retired children are gone, not left idle.
    const [first, second] = new Set(pids);
    await waitFor(() => !workerAlive(kind, first, pool) && !workerAlive(kind, second, pool), 5000, 'the retired children to exit');
    expect(pool.processes).toBe(1);
  });

  test('tasks submitted all at once are also spread over successive children', async () => {
    const pool = makePool({ maxTasksPerChild: 3, module: TASKS });
    const pids = await Promise.all(Array.from({ length: 9 }, () => pool.apply('pid')));
    expect(runLengths(pids)).toEqual([3, 3, 3]);
  });

  test('a chunk counts as one task', async () => {
    const pool = makePool({ maxTasksPerChild: 2, module: TASKS });
    // Two chunks of five: two tasks, one child.
    const pids = await pool.map('pid', Array.from({ length: 10 }, (_, i) => i), { chunksize: 5 });
    expect(new Set(pids).size).toBe(1);
    // That child has taken its two tasks: the next task runs in a new one.
    const next = await pool.apply('pid');
    expect(next).not.toBe(pids[0]);
  });

  test('nothing is lost or run twice while children come and go', async () => {
    const pool = makePool({ processes: 2, maxTasksPerChild: 3 });
    const file = path.join(scratch(), 'runs.txt');
    const record = { module: fixture('record.js') };
    const inputs = Array.from({ length: 50 }, (_, i) => i);
    const results = (await Promise.all(inputs.map((x) => pool.apply(record, [file, x])))) as {
      x: number;
      square: number;
      pid: number;
    }[];
    expect(results.map((r) => r.x)).toEqual(inputs);
    expect(results.map((r) => r.square)).toEqual(inputs.map((x) => x * x));
    // Each input ran exactly once.
    const ran = fs.readFileSync(file, 'utf8').trim().split('\n').map(Number);
    expect(ran.sort((a, b) => a - b)).toEqual(inputs);
    // No child ran more than three.
    const perChild = new Map<number, number>();
    for (const { pid } of results) perChild.set(pid, (perChild.get(pid) ?? 0) + 1);
    expect(Math.max(...perChild.values())).toBeLessThanOrEqual(3);
    expect(perChild.size).toBeGreaterThanOrEqual(Math.ceil(50 / 3));
  });

  test('a map keeps every result in order across recycled children', async () => {
    const pool = makePool({ processes: 2, maxTasksPerChild: 2, module: TASKS });
    const inputs = Array.from({ length: 30 }, (_, i) => i);
    await expect(pool.map('square', inputs, { chunksize: 2 })).resolves.toEqual(inputs.map((x) => x * x));
  });

  test('the initializer runs again in every replacement child', async () => {
    const pool = makePool({
      maxTasksPerChild: 1,
      module: fixture('initializer.js'),
      initializer: 'init',
      initargs: ['recycled'],
    });
    const states: { pid: number }[] = [];
    for (let i = 0; i < 3; i++) states.push(await pool.apply('state'));
    expect(new Set(states.map((s) => s.pid)).size).toBe(3);
    for (const state of states) expect(state).toMatchObject({ args: ['recycled'], runs: 1 });
  });
});
