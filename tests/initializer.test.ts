/**
 * initializer / initargs: run once in every child, before that child's first task.
 */
import { fixture } from './helpers';
import { KINDS, idOf, idsOf, usePoolsOf, workerAlive, type AnyPool } from './kinds';

const INIT = fixture('initializer.js');

// Untyped pools: the tasks are named by strings of a JavaScript module.
describe.each(KINDS)('%s', (_name, kind) => {
  const makePool = usePoolsOf(kind, { processes: 1 });

  interface InitState {
    pid: number;
    args: unknown[] | undefined;
    runs: number | undefined;
  }

  test('runs with initargs in every child, once, before its first task', async () => {
    const pool = makePool({ processes: 2, module: INIT, initializer: 'init', initargs: ['config', { level: 3 }] });
    // Many tasks at once, so that both children take some; each child's very first task sees the state.
    const states: InitState[] = await pool.map('state', Array.from({ length: 20 }, (_, i) => i), { chunksize: 1 });
    for (const state of states) expect(state).toEqual({ pid: state.pid, args: ['config', { level: 3 }], runs: 1 });
    // Later tasks in the same children: the initializer did not run again.
    const later: InitState[] = await pool.map('state', [1, 2, 3, 4], { chunksize: 1 });
    for (const state of later) expect(state.runs).toBe(1);
  });

  test('without initargs the initializer is called with no arguments', async () => {
    const pool = makePool({ module: INIT, initializer: 'init' });
    await expect(pool.apply('state')).resolves.toMatchObject({ args: [], runs: 1 });
  });

  test('an async initializer is awaited before the first task', async () => {
    const pool = makePool({ module: INIT, initializer: 'initAsync', initargs: ['awaited'] });
    await expect(pool.apply('state')).resolves.toMatchObject({ args: ['awaited'], runs: 1 });
  });

  test('an initializer may be named as { module, name }', async () => {
    const pool = makePool({ initializer: { module: INIT, name: 'init' }, initargs: [7] });
    await expect(pool.apply({ module: INIT, name: 'state' })).resolves.toMatchObject({ args: [7], runs: 1 });
  });

  test('an inline initializer works too', async () => {
    const pool = makePool({
      initializer: (greeting: string, times: number) => {
        (globalThis as Record<string, unknown>).greeting = greeting.repeat(times);
      },
      initargs: ['hi', 2],
    });
    await expect(pool.apply(() => (globalThis as Record<string, unknown>).greeting)).resolves.toBe('hihi');
  });

  test('the pool does not run the initializer in the parent', async () => {
    const pool = makePool({ initializer: () => ((globalThis as Record<string, unknown>).ranHere = true) });
    await pool.apply(() => null);
    expect((globalThis as Record<string, unknown>).ranHere).toBeUndefined();
  });
});
