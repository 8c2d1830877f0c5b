/**
 * The pool's life: close / terminate / join, async disposal, misuse after shutdown, an idle pool that does
 * not hold the process open, and a task that uses the IPC channel itself.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool, PoolStateError } from '../src';
import { fixture, isAlive, thrownBy, useScratchDir, waitFor } from './helpers';
import { KINDS, idOf, idsOf, poolOf, usePoolsOf, workerAlive, type AnyPool } from './kinds';

const TASKS = fixture('tasks.js');
const PACKAGE_ENTRY = path.join(__dirname, '..', 'dist', 'index.cjs');

describe.each(KINDS)('%s', (_name, kind) => {
  const makePool = usePoolsOf(kind, { processes: 1 });

  const scratch = useScratchDir('forkpool-lifecycle-', 'file');

  /** Whatever `fn` throws synchronously; fails if it returns. */
  describe('close()', () => {
    test('lets queued work finish, then the children exit and join() resolves', async () => {
      const pool = makePool({ processes: 2, module: TASKS });
      const results = Promise.all([
        pool.apply('slow', [150]),
        pool.apply('slow', [100]),
        pool.apply('slow', [50]),
        pool.map('square', [1, 2, 3]),
        pool.applyAsync('square', [4]).get(),
      ]);
      const pids = idsOf(pool);
      expect(pids).toHaveLength(2);
      pool.close();
      await pool.join();
      await expect(results).resolves.toEqual([150, 100, 50, [1, 4, 9], 16]);
      for (const pid of pids) expect(workerAlive(kind, pid, pool)).toBe(false);
    });

    test('lets an imap that was already reading its input finish', async () => {
      const pool = makePool({ module: TASKS });
      async function* numbers() {
        for (let i = 1; i <= 5; i++) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          yield i;
        }
      }
      const iterator = pool.imap('square', numbers());
      pool.close();
      const results: number[] = [];
      for await (const value of iterator) results.push(value);
      expect(results).toEqual([1, 4, 9, 16, 25]);
      await pool.join();
    });

    test('on an idle pool lets the children exit at once', async () => {
      const pool = makePool({ processes: 2 });
      const pids = idsOf(pool);
      pool.close();
      await pool.join();
      for (const pid of pids) expect(workerAlive(kind, pid, pool)).toBe(false);
    });

    test('can be called twice', async () => {
      const pool = makePool();
      pool.close();
      pool.close();
      await pool.join();
    });
  });

  describe('terminate()', () => {
    test('rejects every unfinished task with PoolStateError; nothing is left pending', async () => {
      const pool = makePool({ module: TASKS });
      const marker = path.join(scratch(), 'long-task-started');
      const longTask = async (file: string) => {
        require('node:fs').writeFileSync(file, '');
        await new Promise((resolve) => setTimeout(resolve, 30000));
      };
      const running = pool.apply(longTask, [marker]);
      const queued = pool.apply('slow', [10]);
      const mapped = pool.map('square', [1, 2, 3]);
      const asyncResult = pool.applyAsync('square', [2]);
      const iterator = pool.imap('slow', [30000, 10]);
      const firstItem = iterator.next();
      // Stop the pool while a task is running, not before anything started.
      await waitFor(() => fs.existsSync(marker), 10000, 'the long task to start');
      const pids = idsOf(pool);
      pool.terminate();
      const outcomes = await Promise.allSettled([running, queued, mapped, asyncResult.get(), firstItem]);
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(PoolStateError);
      }
      expect(asyncResult.ready()).toBe(true);
      expect(asyncResult.successful()).toBe(false);
      await pool.join();
      for (const pid of pids) expect(workerAlive(kind, pid, pool)).toBe(false);
    });

    test('after close() stops the work that was still to finish', async () => {
      const pool = makePool({ module: TASKS });
      const running = pool.apply('slow', [30000]);
      pool.close();
      pool.terminate();
      await expect(running).rejects.toBeInstanceOf(PoolStateError);
      await pool.join();
    });

    test('can be called twice, and join() still resolves', async () => {
      const pool = makePool();
      pool.terminate();
      pool.terminate();
      await pool.join();
    });
  });

  test('join() before close() or terminate() rejects with PoolStateError', async () => {
    const pool = makePool();
    await expect(pool.join()).rejects.toBeInstanceOf(PoolStateError);
    // The pool is still running and usable.
    await expect(pool.apply(() => 'still running')).resolves.toBe('still running');
  });

  describe.each(['close', 'terminate'] as const)('submitting after %s()', (stop) => {
    test('apply, map and starmap reject with PoolStateError', async () => {
      const pool = makePool({ module: TASKS });
      pool[stop]();
      await expect(pool.apply('square', [2])).rejects.toBeInstanceOf(PoolStateError);
      await expect(pool.map('square', [2])).rejects.toBeInstanceOf(PoolStateError);
      await expect(pool.starmap('square', [[2]])).rejects.toBeInstanceOf(PoolStateError);
      await pool.join();
    });

    test('applyAsync, mapAsync, starmapAsync, imap and imapUnordered throw PoolStateError', async () => {
      const pool = makePool({ module: TASKS });
      pool[stop]();
      expect(thrownBy(() => pool.applyAsync('square', [2]))).toBeInstanceOf(PoolStateError);
      expect(thrownBy(() => pool.mapAsync('square', [2]))).toBeInstanceOf(PoolStateError);
      expect(thrownBy(() => pool.starmapAsync('square', [[2]]))).toBeInstanceOf(PoolStateError);
      expect(thrownBy(() => pool.imap('square', [2]))).toBeInstanceOf(PoolStateError);
      expect(thrownBy(() => pool.imapUnordered('square', [2]))).toBeInstanceOf(PoolStateError);
      await pool.join();
    });
  });

  describe('await using', () => {
    test('closes and joins the pool at the end of the block, after the submitted work', async () => {
      let pending: Promise<number>;
      let settled = false;
      let pids: number[];
      let used: AnyPool;
      {
        await using pool = poolOf(kind, { processes: 1, module: TASKS });
        used = pool;
        pending = pool.apply('slow', [100]);
        void pending.then(() => (settled = true));
        pids = idsOf(pool);
      }
      expect(settled).toBe(true);
      await expect(pending).resolves.toBe(100);
      for (const pid of pids) expect(workerAlive(kind, pid, used)).toBe(false);
    });

    test('Symbol.asyncDispose closes and joins', async () => {
      const pool = makePool({ module: TASKS });
      const pending = pool.apply('square', [3]);
      const pids = idsOf(pool);
      await pool[Symbol.asyncDispose]();
      await expect(pending).resolves.toBe(9);
      for (const pid of pids) expect(workerAlive(kind, pid, pool)).toBe(false);
      await expect(pool.apply('square', [1])).rejects.toBeInstanceOf(PoolStateError);
    });
  });

  describe('properties', () => {
    test('processes is the number of children', async () => {
      const pool = makePool({ processes: 2 });
      expect(pool.processes).toBe(2);
      expect(idsOf(pool)).toHaveLength(2);
    });

    test('processes defaults to os.availableParallelism()', async () => {
      const pool = makePool({ processes: undefined });
      expect(pool.processes).toBe(os.availableParallelism());
    });

    test('broken is false on a healthy pool, also after a task failed', async () => {
      const pool = makePool({ module: TASKS });
      expect(pool.broken).toBe(false);
      await expect(pool.apply('fail', ['task error'])).rejects.toThrow('task error');
      expect(pool.broken).toBe(false);
      pool.close();
      await pool.join();
      expect(pool.broken).toBe(false);
    });
  });

  describe('a pool that is never closed', () => {
    /** Run `node <args>` in a fresh process; resolves with how it ended. */
    function runNode(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
        let stdout = '';
        child.stdout.on('data', (data) => (stdout += data));
        let done = false;
        const finish = (code: number | null, signal: NodeJS.Signals | null) => {
          if (done) return;
          done = true;
          clearTimeout(guard);
          resolve({ code, signal, stdout });
        };
        // Only a guard against a hang: a script that exits by itself is far quicker than this.
        const guard = setTimeout(() => {
          child.kill('SIGKILL');
          finish(null, 'SIGKILL');
        }, 20000);
        child.on('error', reject);
        // 'close' comes once the script has exited and its stdout (shared with the pool's children) is closed.
        child.on('close', finish);
      });
    }

    /** Run `source` as a script file. */
    function runScript(name: string, source: string) {
      const file = path.join(scratch(), name);
      fs.writeFileSync(file, `const { ${kind === 'process' ? 'Pool' : 'ThreadPool: Pool'} } = require(${JSON.stringify(PACKAGE_ENTRY)});\n${source}`);
      return runNode([file]);
    }

    test('does not keep the process alive once idle', async () => {
      const { code, signal, stdout } = await runScript(
        'idle.js',
        `const pool = new Pool({ processes: 2 });
        pool.apply((x) => x * 2, [21]).then((value) => {
          console.log(JSON.stringify({ value, pids: pool.pids ?? pool.threadIds }));
        });`,
      );
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      const { value, pids } = JSON.parse(stdout) as { value: number; pids: number[] };
      expect(value).toBe(42);
      // Its children go with it.
      if (kind === 'process') await waitFor(() => pids.every((pid) => !isAlive(pid)), 5000, 'the children of the exited script');
    });

    test('that was never used does not keep the process alive', async () => {
      const { code, signal } = await runScript('unused.js', 'new Pool({ processes: 1 });');
      expect({ code, signal }).toEqual({ code: 0, signal: null });
    });

    test('keeps the process alive while it still has work', async () => {
      const { code, stdout } = await runScript(
        'busy.js',
        `const pool = new Pool({ processes: 1 });
        // Nothing but the pending task keeps this process alive.
        pool.apply(async () => { await new Promise((r) => setTimeout(r, 300)); return 'done'; }).then(console.log);`,
      );
      expect(code).toBe(0);
      expect(stdout.trim()).toBe('done');
    });

    test('keeps the process alive after failed maps whose other chunks the child dropped', async () => {
      // A failed item makes its child drop the call's chunks queued behind it, while the parent drops them
      // too: each must count once, or the pool believes itself idle and lets the process exit mid-task.
      const { code, stdout } = await runScript(
        'dropped.js',
        `const pool = new Pool({ processes: 1 });
        const failFirst = (x) => { if (x === 0) throw new Error('boom'); const t = Date.now(); while (Date.now() - t < 1); return x; };
        (async () => {
          for (let round = 0; round < 30; round++) {
            await pool.map(failFirst, [0, 1, 2, 3, 4, 5, 6, 7], { chunksize: 1 }).catch(() => {});
          }
          console.log(await pool.apply(async () => { await new Promise((r) => setTimeout(r, 300)); return 'done'; }));
        })();`,
      );
      expect(code).toBe(0);
      expect(stdout.trim()).toBe('done');
    });

    test('works in a script run by `node -e`, whose -e option the children must not inherit', async () => {
      // A child that inherited `-e` would run this script again instead of the pool's child script, and fork
      // children of its own: the first line stops such a child before it can.
      const source = `
        if (process.send) process.exit(3);
        const { Pool } = require(${JSON.stringify(PACKAGE_ENTRY)});
        const pool = new Pool({ processes: 1 });
        pool.apply((x) => x * 2, [21]).then(
          (value) => console.log(value),
          (error) => { console.log(error.message); process.exitCode = 1; },
        );`;
      const { code, stdout } = await runNode(['-e', source]);
      expect(stdout.trim()).toBe('42');
      expect(code).toBe(0);
    });
  });

  test('a task that calls process.send itself does not confuse the pool', async () => {
    const pool = makePool({ processes: 2, module: TASKS });
    const talker = { module: fixture('process-send.js') };
    const results = await Promise.all([
      pool.apply(talker, [1]),
      pool.map(talker, [10, 20, 30], { chunksize: 1 }),
      pool.apply('square', [5]),
    ]);
    expect(results).toEqual([2, [11, 21, 31], 25]);
    await expect(pool.map('square', [1, 2, 3, 4])).resolves.toEqual([1, 4, 9, 16]);
    expect(pool.broken).toBe(false);
    pool.close();
    await pool.join();
  });
});
