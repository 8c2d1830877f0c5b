/**
 * Load balancing (API.md): children pull, and what one holds ahead of its turn is never stuck behind a
 * long task while another child is idle. Long tasks meet at a barrier, so "ran at once, on distinct
 * children" is checked without a stopwatch; blocked children are blocked synchronously, so that nothing
 * but the progress page can take their tasks back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ProcessPoolExecutor } from '../src';
import { readLines } from './faults-helpers';
import { fixture, useScratchDir } from './helpers';
import { KINDS, executorOf, idOf, idsOf, usePoolsOf, workerAlive, type AnyPool } from './kinds';

const TASKS = fixture('balance-tasks.js');
describe.each(KINDS)('%s', (_name, kind) => {
  const pool = usePoolsOf(kind, { module: TASKS });
  const scratch = useScratchDir('forkpool-balance-');

  /** Tiny tasks enough for every child's window to widen: from then on children take tasks ahead of their turn. */
  async function widenWindows(p: { map(task: 'tiny', items: number[], options: { chunksize: number }): Promise<unknown[]> }): Promise<void> {
    await p.map('tiny', Array.from({ length: 3000 }, (_, i) => i), { chunksize: 1 });
  }

  /** Fails, rather than hangs, when `promise` is not settled within `ms`. */
  function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    });
    return Promise.race([promise, late]).finally(() => clearTimeout(timer));
  }

  function barrier(count: number): Array<{ dir: string; name: string; count: number }> {
    const dir = path.join(scratch(), 'barrier');
    fs.mkdirSync(dir);
    return Array.from({ length: count }, (_, i) => ({ dir, name: String(i), count }));
  }

  describe('a fresh pool given as many long tasks as it has processes runs them at once, on distinct children', () => {
    test.each([2, 4])('%d processes, map with chunksize 1', async (processes) => {
      const p = pool({ processes });
      const pids = await p.map('meet', barrier(processes), { chunksize: 1 });
      expect(pids).not.toContain('alone');
      expect(new Set(pids).size).toBe(processes);
    });

    test('separate apply calls', async () => {
      const p = pool({ processes: 3 });
      const pids = await Promise.all(barrier(3).map((item) => p.apply('meet', [item])));
      expect(pids).not.toContain('alone');
      expect(new Set(pids).size).toBe(3);
    });

    test('ProcessPoolExecutor.submit', async () => {
      await using ex = executorOf(kind, { maxWorkers: 2, module: TASKS });
      const pids = await Promise.all(barrier(2).map((item) => ex.submit('meet', item)));
      expect(pids).not.toContain('alone');
      expect(new Set(pids).size).toBe(2);
    });
  });

  describe('a task that has not started is never held behind a running task while another child is idle', () => {
    test('tasks a blocked child took ahead of its turn are taken back and run by the idle child', async () => {
      const gate = path.join(scratch(), 'gate');
      const marks = path.join(scratch(), 'marks');
      const p = pool({ processes: 2 });
      await widenWindows(p);
      // One child takes the blocking task; the short ones submitted right after are spread over both
      // children, some of them behind it.
      const blocked = p.apply('blockUntil', [gate]);
      const shorts = Array.from({ length: 40 }, (_, i) => p.apply('mark', [marks, i]));
      const results = await within(Promise.all(shorts), 10000, 'the short tasks');
      fs.writeFileSync(gate, '');
      const blocker = await blocked;
      expect(blocker).not.toBe('gave up');
      // Every short task ran once, and none on the blocked child.
      expect(results.map((r) => r.pid)).not.toContain(blocker);
      expect(readLines(marks).map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    });

    test('imapUnordered yields the quick items of a chunk of work while a slow one blocks its child', async () => {
      const gate = path.join(scratch(), 'gate');
      const marks = path.join(scratch(), 'marks');
      const p = pool({ processes: 2 });
      await widenWindows(p);
      const blocked = p.apply('blockUntil', [gate]);
      const seen: number[] = [];
      const items = Array.from({ length: 30 }, (_, i) => i);
      const reading = (async () => {
        for await (const { x } of p.imapUnordered(({ file, x }: { file: string; x: number }) => {
          require('node:fs').appendFileSync(file, `${x}\n`);
          return { x };
        }, items.map((x) => ({ file: marks, x })))) {
          seen.push(x);
        }
      })();
      await within(reading, 10000, 'imapUnordered');
      fs.writeFileSync(gate, '');
      await blocked;
      expect(seen.sort((a, b) => a - b)).toEqual(items);
    });

    test('an executor: futures queued behind a blocked child finish on the other', async () => {
      const gate = path.join(scratch(), 'gate');
      const marks = path.join(scratch(), 'marks');
      await using ex = executorOf(kind, { maxWorkers: 2, module: TASKS });
      await Promise.all(Array.from({ length: 3000 }, (_, i) => ex.submit('tiny', i)));
      const blocked = ex.submit('blockUntil', gate);
      const quick = Array.from({ length: 20 }, (_, i) => ex.submit('mark', marks, i));
      await within(Promise.all(quick), 10000, 'the quick futures');
      fs.writeFileSync(gate, '');
      expect(await blocked).not.toBe('gave up');
    });
  });

  test("a finished task's result is not held back while its child runs a long task next", async () => {
    const gate = path.join(scratch(), 'gate');
    const p = pool({ processes: 1 });
    await widenWindows(p);
    // Tiny tasks' results may share a message; a result never waits behind a task that may be long.
    const quick = p.apply('tiny', [7]);
    const blocked = p.apply('blockUntil', [gate]);
    expect(await within(quick, 10000, 'the quick task')).toBe(7);
    fs.writeFileSync(gate, '');
    expect(await blocked).not.toBe('gave up');
  });
});
