/**
 * Blame (API.md): when a child dies or is stopped, the task it was running fails, and so does any it
 * finished without sending the result; every task it held but had not begun runs elsewhere. A timeout or an
 * abort fails no task but its own. Children here take tasks ahead of their turn (their windows are widened
 * by tiny tasks first), so each test has tasks held behind the one that ends its child.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BrokenPoolError, TimeoutError, type Pool } from '../src';
import { readLines } from './faults-helpers';
import { fixture, rejectionOf, useScratchDir, waitFor } from './helpers';
import { KINDS, idOf, idsOf, usePoolsOf, workerAlive, type AnyPool } from './kinds';

const TASKS = fixture('balance-tasks.js');
describe.each(KINDS)('%s', (_name, kind) => {
  const pool = usePoolsOf(kind, { module: TASKS, processes: 1 });
  const scratch = useScratchDir('forkpool-blame-');

  async function widenWindows(p: AnyPool): Promise<void> {
    await p.map('tiny', Array.from({ length: 3000 }, (_, i) => i), { chunksize: 1 });
  }

  /** How many times each input was marked. */
  function markCounts(file: string): Map<number, number> {
    const counts = new Map<number, number>();
    for (const line of readLines(file)) counts.set(Number(line), (counts.get(Number(line)) ?? 0) + 1);
    return counts;
  }

  const range = (n: number) => Array.from({ length: n }, (_, i) => i);

  test('a crash fails the task that was running; the tasks its child held behind it run on the replacement', async () => {
    const marks = path.join(scratch(), 'marks');
    const p = pool({ onWorkerCrash: 'respawn' });
    await widenWindows(p);
    const [first] = idsOf(p);
    const crash = p.apply('exitAfter', [200, 3]);
    const behind = range(20).map((i) => p.apply('mark', [marks, i]));

    const error = await rejectionOf<BrokenPoolError>(crash);
    expect(error).toBeInstanceOf(BrokenPoolError);
    expect(error.exitCode).toBe(3);
    const results = await Promise.all(behind);
    expect(results.map((r) => r.pid)).not.toContain(first);
    expect([...markCounts(marks).entries()].sort(([a], [b]) => a - b)).toEqual(range(20).map((i) => [i, 1]));
  });

  test('amid a stream of quick tasks, every task that fails with the crash had run, and every other one succeeds once', async () => {
    const marks = path.join(scratch(), 'marks');
    const p = pool({ onWorkerCrash: 'respawn' });
    const exitAt = 300;
    const outcomes = await Promise.allSettled(range(500).map((x) => p.apply('markOrExit', [marks, x, exitAt])));
    const counts = markCounts(marks);
    expect(outcomes[exitAt].status).toBe('rejected');
    outcomes.forEach((outcome, x) => {
      if (outcome.status === 'rejected') {
        // Failed with the crash: the task that exited, or one that finished before it without its result
        // having been sent. Either way it ran, once.
        expect(outcome.reason).toBeInstanceOf(BrokenPoolError);
        expect(counts.get(x)).toBe(1);
      } else {
        expect(outcome.value).toBe(x);
      }
    });
    for (const [x, count] of counts) expect([x, count]).toEqual([x, 1]);
  });

  test('a timeout fails only its own task: those its child held behind it run on the replacement', async () => {
    const marks = path.join(scratch(), 'marks');
    const p = pool();
    await widenWindows(p);
    const [first] = idsOf(p);
    // Blocked synchronously until a gate that never opens: the timeout must kill its child.
    const stuck = p.apply('blockUntil', [path.join(scratch(), 'never')], { timeout: 300 });
    const behind = range(10).map((i) => p.apply('mark', [marks, i]));

    expect(await rejectionOf(stuck)).toBeInstanceOf(TimeoutError);
    const results = await Promise.all(behind);
    expect(results.map((r) => r.pid)).not.toContain(first);
    expect(markCounts(marks).size).toBe(10);
  });

  test('aborting a running task fails only that task: those its child held behind it run on the replacement', async () => {
    const marks = path.join(scratch(), 'marks');
    const pidFile = path.join(scratch(), 'pid');
    const p = pool();
    await widenWindows(p);
    const controller = new AbortController();
    const stuck = p.apply('markThenBlock', [pidFile, path.join(scratch(), 'never')], { signal: controller.signal });
    const behind = range(10).map((i) => p.apply('mark', [marks, i]));
    await waitFor(() => fs.existsSync(pidFile), 10000, 'the task to start');
    controller.abort(new Error('no longer needed'));

    expect(((await rejectionOf(stuck)) as Error).message).toBe('no longer needed');
    const results = await Promise.all(behind);
    expect(results.map((r) => r.pid)).not.toContain(Number(fs.readFileSync(pidFile, 'utf8')));
    expect(markCounts(marks).size).toBe(10);
  });
});
