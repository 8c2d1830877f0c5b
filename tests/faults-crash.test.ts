/**
 * A child that dies without being asked to: process.exit, a signal from outside, an abort, out of memory.
 * The tasks it held reject with BrokenPoolError; 'break' then stops everything, 'respawn' goes on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BrokenPoolError, Pool } from '../src';
import { fixture, isAlive, rejectionOf, usePools, useScratchDir, waitFor } from './helpers';
import { expectNoChildrenLeft, readLines, Script } from './faults-helpers';

const CRASH = fixture('crash-tasks.js');
const INIT = fixture('crash-init.js');

const scripts: Script[] = [];

afterEach(() => {
  for (const script of scripts.splice(0)) script.kill();
});

const pool = usePools({ processes: 2, module: CRASH });
const dir = useScratchDir('forkpool-faults-');

afterAll(expectNoChildrenLeft);

function expectBroken(error: unknown): BrokenPoolError {
  expect(error).toBeInstanceOf(BrokenPoolError);
  expect((error as BrokenPoolError).name).toBe('BrokenPoolError');
  expect((error as BrokenPoolError).code).toBe('ERR_POOL_BROKEN');
  return error as BrokenPoolError;
}

/** Start `hold` and wait until a child runs it; resolves with that child's pid and the task's promise. */
async function holding(target: Pool, ms = 30000): Promise<{ pid: number; task: Promise<unknown> }> {
  const file = path.join(dir(), `hold-${Math.random().toString(36).slice(2)}`);
  const task = target.apply('hold', [file, ms]);
  task.catch(() => undefined);
  await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8') !== '', 10000, 'the task to start');
  return { pid: Number(fs.readFileSync(file, 'utf8')), task };
}

describe('a child that dies while running a task', () => {
  test('process.exit(n) rejects the task with BrokenPoolError carrying the pid and exit code', async () => {
    const p = pool();
    const pids = p.pids;
    const error = expectBroken(await rejectionOf(p.apply('exitWith', [3])));
    expect(error.exitCode).toBe(3);
    expect(error.signal).toBeNull();
    expect(pids).toContain(error.pid);
    expect(error.message).toContain(String(error.pid));
  });

  test('a SIGKILL from outside rejects the task it was running with the signal', async () => {
    const p = pool();
    const { pid, task } = await holding(p);
    process.kill(pid, 'SIGKILL');
    const error = expectBroken(await rejectionOf(task));
    expect(error.pid).toBe(pid);
    expect(error.signal).toBe('SIGKILL');
    expect(error.exitCode).toBeNull();
  });

  // Run by a parent of their own: such a child prints its native stack to the stderr it shares with the
  // parent, and a jest worker whose stderr says 'heap out of memory' is taken for one that ran out itself.
  async function crashInOwnParent(mode: 'abort' | 'oom'): Promise<{ result: Record<string, unknown>; stderr: string }> {
    const script = new Script('crash-parent.js', [mode]);
    scripts.push(script);
    const { code } = await script.exited;
    const [result] = script.linesOf('RESULT');
    expect({ code, result: result ?? script.lines.join('\n') }).toEqual({ code: 0, result: expect.any(String) });
    return { result: JSON.parse(result), stderr: script.stderr };
  }

  test('process.abort() rejects the task with SIGABRT', async () => {
    const { result } = await crashInOwnParent('abort');
    expect(result).toEqual({
      pid: expect.any(Number),
      isBrokenPoolError: true,
      errorPid: result.pid,
      exitCode: null,
      signal: 'SIGABRT',
      poolBroken: true,
      laterIsBrokenPoolError: true,
    });
  });

  test('running out of memory rejects the task', async () => {
    const { result, stderr } = await crashInOwnParent('oom');
    expect(stderr).toContain('heap out of memory');
    expect(result).toMatchObject({ isBrokenPoolError: true, errorPid: result.pid, poolBroken: true, laterIsBrokenPoolError: true });
    // V8 aborts on a fatal out-of-memory error; either way the child did not end well.
    expect(result.signal !== null || (result.exitCode !== null && result.exitCode !== 0)).toBe(true);
  });
});

describe("onWorkerCrash: 'break' (the default)", () => {
  test('every task held or queued rejects, each with a BrokenPoolError of its own', async () => {
    const p = pool();
    const pids = p.pids;
    // The first task goes to the first child that is ready and runs at once; the long ones fill the
    // other child and the queue, and would hold the test for minutes if they were not rejected.
    const crash = p.apply('exitWith', [4]);
    const others = Array.from({ length: 8 }, () => p.apply('hold', [path.join(dir(), 'unused'), 60000]));
    const crashError = expectBroken(await rejectionOf(crash));
    expect(crashError.exitCode).toBe(4);
    const errors = await Promise.all(others.map((task) => rejectionOf(task)));
    for (const error of errors) {
      expectBroken(error);
      expect(pids).toContain((error as BrokenPoolError).pid);
    }
    expect(new Set([crashError, ...errors]).size).toBe(errors.length + 1);
    expect(p.broken).toBe(true);
  });

  test('the pool is broken: every later call rejects and the other children are stopped', async () => {
    const p = pool();
    const pids = p.pids;
    expect(p.broken).toBe(false);
    await rejectionOf(p.apply('exitWith', [5]));
    expect(p.broken).toBe(true);

    expectBroken(await rejectionOf(p.apply('square', [2])));
    expectBroken(await rejectionOf(p.map('square', [1, 2, 3])));
    expectBroken(await rejectionOf(p.starmap('square', [[1], [2]])));
    expectBroken(await rejectionOf(p.applyAsync('square', [2]).get()));
    expectBroken(await rejectionOf(p.mapAsync('square', [1, 2]).get()));
    expectBroken(await rejectionOf(p.imap('square', [1, 2, 3]).next()));
    expectBroken(await rejectionOf(p.imapUnordered('square', [1, 2, 3]).next()));
    const later = [p.apply('square', [3]), p.apply('square', [4])];
    const [first, second] = await Promise.all(later.map((task) => rejectionOf(task)));
    expect(first).not.toBe(second);

    await waitFor(() => pids.every((pid) => !isAlive(pid)), 5000, 'every child to stop');
    p.close();
    await p.join();
    expect(p.pids).toEqual([]);
  });

  test('a child killed while idle breaks the pool too', async () => {
    const p = pool({ processes: 1 });
    expect(await p.apply('square', [3])).toBe(9);
    const [pid] = p.pids;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => p.broken, 5000, 'the pool to break');
    const error = expectBroken(await rejectionOf(p.apply('square', [4])));
    expect(error.pid).toBe(pid);
    expect(error.signal).toBe('SIGKILL');
  });
});

describe("onWorkerCrash: 'respawn'", () => {
  test('only the crashed task rejects; the queued ones run on a new child that ran its initializer first', async () => {
    const log = path.join(dir(), 'init.log');
    const p = pool({
      processes: 1,
      module: INIT,
      onWorkerCrash: 'respawn',
      initializer: 'logAndSet',
      initargs: [log],
    });
    const [first] = p.pids;
    const crash = p.apply({ module: CRASH, name: 'exitWith' }, [7]);
    const queued = Array.from({ length: 6 }, (_, i) => p.apply('square', [i]));

    const error = expectBroken(await rejectionOf(crash));
    expect(error.pid).toBe(first);
    expect(error.exitCode).toBe(7);
    expect(await Promise.all(queued)).toEqual([0, 1, 4, 9, 16, 25]);
    expect(p.broken).toBe(false);

    const after = (await p.apply('whoAmI')) as { pid: number; initializedBy: number };
    expect(after.pid).not.toBe(first);
    expect(after.initializedBy).toBe(after.pid);
    expect(readLines(log)).toContain(String(after.pid));
    expect(isAlive(first)).toBe(false);
  });

  test('a child killed from outside is replaced and the other child keeps working', async () => {
    const p = pool({ onWorkerCrash: 'respawn' });
    const { pid, task } = await holding(p);
    process.kill(pid, 'SIGKILL');
    const error = expectBroken(await rejectionOf(task));
    expect(error.signal).toBe('SIGKILL');
    expect(p.broken).toBe(false);
    expect(await p.map('square', [1, 2, 3, 4, 5, 6], { chunksize: 1 })).toEqual([1, 4, 9, 16, 25, 36]);
    await waitFor(() => p.pids.length === 2 && !p.pids.includes(pid), 5000, 'a replacement child');
    expect(isAlive(pid)).toBe(false);
  });

  /** SIGKILL `rounds` children of `p` in a row while their initializer runs (as the OOM killer would). */
  async function killWhileStarting(p: Pool, log: string, rounds: number): Promise<number[]> {
    const killed: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const starting = () => p.pids.find((pid) => !killed.includes(pid) && readLines(log).includes(String(pid)));
      await waitFor(() => starting() !== undefined, 10000, 'a child running its initializer');
      const pid = starting()!;
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    }
    return killed;
  }

  test('a child killed while it starts up is replaced: two failed starts in a row do not break the pool', async () => {
    // A slow initializer keeps each child starting up long enough to be killed at that stage for sure.
    const log = path.join(dir(), 'init.log');
    const p = pool({ processes: 1, module: INIT, onWorkerCrash: 'respawn', initializer: 'logAndWait', initargs: [log, 1000] });
    const pending = p.apply('square', [3]);
    const killed = await killWhileStarting(p, log, 2);
    expect(await pending).toBe(9);
    expect(p.broken).toBe(false);
    const after = (await p.apply('whoAmI')) as { pid: number; initializedBy: number };
    expect(killed).not.toContain(after.pid);
    expect(after.initializedBy).toBe(after.pid);
  });

  test('children killed in start-up again and again break the pool instead of forking forever', async () => {
    const log = path.join(dir(), 'init.log');
    const p = pool({ processes: 1, module: INIT, onWorkerCrash: 'respawn', initializer: 'logAndWait', initargs: [log, 1000] });
    const pending = p.apply('square', [3]);
    const killed = await killWhileStarting(p, log, 3);
    const error = expectBroken(await rejectionOf(pending));
    expect(error.signal).toBe('SIGKILL');
    expect(error.message).toMatch(/before it had finished a first task.*broken/);
    expect(p.broken).toBe(true);
    // No fourth child: the three killed ones are all the pool ever started.
    await p.join();
    expect(readLines(log)).toEqual(killed.map(String));
  });

  test('a crash amid a stream of quick tasks rejects the task that crashed, and no task runs twice', async () => {
    const marks = path.join(dir(), 'marks');
    const p = pool({ processes: 1, onWorkerCrash: 'respawn' });
    const exitAt = 300;
    const tasks = Array.from({ length: 400 }, (_, x) => p.apply('markOrExit', [marks, x, exitAt]));
    const outcomes = await Promise.allSettled(tasks);

    // The task that called process.exit is the one that fails...
    const crashed = outcomes[exitAt];
    expect(crashed.status).toBe('rejected');
    expectBroken((crashed as PromiseRejectedResult).reason);
    // ...and it ran once: had it been put back in the queue it would have crashed the next child too.
    const ran = readLines(marks).map(Number);
    const counts = new Map<number, number>();
    for (const x of ran) counts.set(x, (counts.get(x) ?? 0) + 1);
    const twice = [...counts].filter(([, count]) => count > 1).map(([x]) => x);
    expect(twice).toEqual([]);
    // Everything else either ran and resolved with its input, or (held by the dead child) rejected.
    outcomes.forEach((outcome, x) => {
      if (outcome.status === 'fulfilled') expect(outcome.value).toBe(x);
      else expectBroken(outcome.reason);
    });
    expect(p.broken).toBe(false);
  });
});

test('no child outlives a pool whose children crashed', async () => {
  const p = pool({ onWorkerCrash: 'respawn' });
  const seen = new Set(p.pids);
  await rejectionOf(p.apply('exitWith', [1]));
  await p.map('square', [1, 2, 3, 4], { chunksize: 1 });
  for (const pid of p.pids) seen.add(pid);
  p.close();
  await p.join();
  expect([...seen].filter(isAlive)).toEqual([]);
});
