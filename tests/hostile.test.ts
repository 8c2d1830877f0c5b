/**
 * Hostile faults: nothing a child does, and no value it sends, may crash the parent. Each describe is one
 * class of fault: dying children mid-call, values and errors whose serialization throws, timeouts of any
 * length, respawn loops, fork failures, lost causes, options of the wrong type.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BrokenPoolError, Pool, ProcessPoolExecutor, TimeoutError, asCompleted, wait, type Serialization } from '../src';
import { expectNoChildrenLeft } from './faults-helpers';
import { fixture, rejectionOf, thrownBy, usePools, useScratchDir } from './helpers';

const TASKS = fixture('hostile-tasks.js');
const pool = usePools({ module: TASKS, processes: 2 });
const scratch = useScratchDir('forkpool-hostile-');
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

afterAll(expectNoChildrenLeft);

/** The pool answers, from the child `pid` when given (it was not replaced). */
async function expectHealthy(p: Pool, pid?: number): Promise<void> {
  const pids = await Promise.all(range(4).map(() => p.apply('pid')));
  if (pid !== undefined) expect(pids).toContain(pid);
  expect(p.broken).toBe(false);
}

/** Run a fixture script as a parent of its own, optionally under `ulimit -n`; its RESULT line, parsed. */
function runParent(name: string, args: string[], fds?: number): Promise<{ code: number | null; result: Record<string, unknown> | undefined; output: string }> {
  const command = `${fds === undefined ? '' : `ulimit -n ${fds} && `}exec "${process.execPath}" "${fixture(name)}" ${args.join(' ')}`;
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr.on('data', (data: Buffer) => (output += data.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = output.split('\n').find((l) => l.startsWith('RESULT '));
      resolve({ code, result: line === undefined ? undefined : JSON.parse(line.slice(7)), output });
    }),
  );
}

describe('children that die in the middle of a call', () => {
  test('one that exits while it holds other chunks of the same map', async () => {
    const p = pool({ onWorkerCrash: 'respawn' });
    await p.map('echo', range(2000), { chunksize: 1 });
    const error = await rejectionOf(p.map('exitAt', range(400).map((x) => ({ x, exitAt: 150, code: 5 })), { chunksize: 1 }));
    expect(error).toBeInstanceOf(BrokenPoolError);
    await expectHealthy(p);
  });

  test('one killed for a timeout while it holds other chunks of the same map', async () => {
    const p = pool();
    await p.map('echo', range(2000), { chunksize: 1 });
    const items = range(400).map((x) => ({ x, blockAt: 150 }));
    expect(await rejectionOf(p.map('blockAt', items, { chunksize: 1, timeout: 300 }))).toBeInstanceOf(TimeoutError);
    await expectHealthy(p);
  });

  test('one whose map is aborted while it runs a chunk and holds others', async () => {
    const p = pool();
    await p.map('echo', range(2000), { chunksize: 1 });
    const controller = new AbortController();
    const call = p.map('blockAt', range(400).map((x) => ({ x, blockAt: 150 })), { chunksize: 1, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 300);
    expect(((await rejectionOf(call)) as Error).message).toBe('stop');
    await expectHealthy(p);
  });
});

describe('errors and values whose serialization throws fail their task alone', () => {
  test('an error with an enumerable getter that throws', async () => {
    const p = pool({ processes: 1 });
    const [pid] = p.pids;
    const error = await rejectionOf<Error & { code?: string }>(p.apply('throwGetterError'));
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('RangeError');
    expect(error.message).toBe('has a booby-trapped property');
    expect(error.code).toBe('E_TRAP');
    await expectHealthy(p, pid);
  });

  test('an error whose toJSON throws keeps its class and own properties', async () => {
    const p = pool({ processes: 1 });
    const [pid] = p.pids;
    const error = await rejectionOf<TypeError & { detail?: number }>(p.apply('throwToJsonError'));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('cannot be turned into JSON');
    expect(error.detail).toBe(42);
    await expectHealthy(p, pid);
  });

  describe.each<Serialization>(['json', 'advanced'])('serialization %s', (serialization) => {
    test('a result with a getter that throws', async () => {
      const p = pool({ processes: 1, serialization });
      const [pid] = p.pids;
      const error = await rejectionOf<Error & { code?: string }>(p.apply('getterResult'));
      expect(error.code).toBe('ERR_POOL_UNSENDABLE');
      expect(error.message).toMatch(/getter went off/);
      await expectHealthy(p, pid);
    });

    // 3,000 levels: deep enough that V8 writes it in one process and cannot read it in the other.
    test.each([3000, 10000])('a result nested %d levels deep', async (depth) => {
      const p = pool({ processes: 1, serialization });
      const [pid] = p.pids;
      const error = await rejectionOf<Error & { code?: string }>(p.apply('deep', [depth]));
      expect(error.code).toBe('ERR_POOL_UNSENDABLE');
      expect(error.message).toMatch(/nested more than \d+ levels deep|Maximum call stack/);
      await expectHealthy(p, pid);
    });

    test('an argument with a getter that throws, or nested 3,000 or 10,000 levels deep', async () => {
      const p = pool({ processes: 1, serialization });
      const [pid] = p.pids;
      const trap = {};
      Object.defineProperty(trap, 'trap', { enumerable: true, get: () => { throw new Error('the getter went off'); } });
      const nested = (depth: number) => {
        const root: Record<string, unknown> = {};
        let at = root;
        for (let i = 0; i < depth; i++) at = (at.next = {}) as Record<string, unknown>;
        return root;
      };
      for (const arg of [trap, nested(3000), nested(10000)]) {
        const error = await rejectionOf<Error & { code?: string }>(p.apply('echo', [arg]));
        expect(error.code).toBe('ERR_POOL_UNSENDABLE');
      }
      // Inside a map, next to items that are fine: only the map fails, the pool stays.
      expect(await rejectionOf<Error & { code?: string }>(p.map('echo', [1, trap, 3]))).toMatchObject({ code: 'ERR_POOL_UNSENDABLE' });
      await expectHealthy(p, pid);
    });
  });

  test('an idle pool whose only call could not be sent lets the process exit', async () => {
    const { code, result, output } = await runParent('idle-unsendable-parent.js', []);
    expect({ code, result }).toEqual({ code: 0, result: { settled: 'rejected', code: 'ERR_POOL_UNSENDABLE' } });
    expect(output).not.toMatch(/Uncaught|TypeError: Cannot/);
  });
});

describe('errors that resist serialization arrive as errors, with all that can be read of them', () => {
  describe.each<Serialization>(['json', 'advanced'])('serialization %s', (serialization) => {
    test('an error with a getter that throws keeps its cause and its other own properties', async () => {
      const p = pool({ processes: 1, serialization });
      const error = await rejectionOf<RangeError & { detail?: unknown }>(p.apply('throwGetterErrorWithCause'));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.message).toBe('outer');
      expect(error.detail).toEqual({ kept: true });
      expect(error.cause).toBeInstanceOf(TypeError);
      expect((error.cause as Error).message).toBe('inner');
    });

    test('a cause with a getter that throws spoils nothing of the error it caused', async () => {
      const p = pool({ processes: 1, serialization });
      const error = await rejectionOf<Error>(p.apply('throwCauseWithGetter'));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.message).toBe('outer');
      expect(error.stack).toContain('throwCauseWithGetter');
      expect(error.cause).toBeInstanceOf(TypeError);
      expect((error.cause as Error).message).toBe('inner');
    });

    test.each(['getter', 'number'])('an error whose message is a %s that will not do stays an error of its class', async (how) => {
      const p = pool({ processes: 1, serialization });
      const error = await rejectionOf<Error>(p.apply('throwOddMessage', [how]));
      expect(error).toBeInstanceOf(SyntaxError);
      expect(error.name).toBe('SyntaxError');
      expect(typeof error.message).toBe('string');
      if (how === 'number') expect(error.message).toBe('42');
    });

    test('symbols in an error arrive as their text, not in place of the error', async () => {
      const p = pool({ processes: 1, serialization });
      const error = await rejectionOf<RangeError & { tag?: unknown }>(p.apply('throwSymbols'));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.message).toBe('has symbols');
      expect(error.tag).toBe('Symbol(a tag)');
      expect(error.cause).toBe('Symbol(the cause)');
    });

    test.each(['number', 'object with a function'])('an error whose toJSON returns a %s keeps its class, message and code', async (what) => {
      const p = pool({ processes: 1, serialization });
      const error = await rejectionOf<TypeError & { code?: string }>(p.apply('throwOddToJson', [what]));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toBe('odd toJSON');
      if (what === 'number') expect(error.code).toBe('E_ODD');
    });

    test("an AggregateError's errors arrive as thrown errors do: a DOMException as one, causes kept", async () => {
      const p = pool({ processes: 1, serialization });
      const error = await rejectionOf<AggregateError>(p.apply('throwAggregate'));
      expect(error).toBeInstanceOf(AggregateError);
      expect(error.message).toBe('several');
      const [abort, outer, seven] = error.errors as [DOMException, Error, number];
      expect(abort).toBeInstanceOf(DOMException);
      expect(abort.name).toBe('AbortError');
      expect(outer.message).toBe('outer');
      expect(outer.cause).toBeInstanceOf(TypeError);
      expect(seven).toBe(7);
    });
  });

  test('an error with a property nested thousands of levels deep does not take the parent down', async () => {
    const { code, result, output } = await runParent('deep-error-parent.js', []);
    expect(output).not.toMatch(/Maximum call stack/);
    expect({ code, result }).toEqual({ code: 0, result: { names: ['RangeError: deep inside'], answer: 1 } });
  });
});

describe("what JSON would drop silently fails the task under 'json'", () => {
  test.each(['function', 'symbol'])('a toJSON() that returns a %s, in an argument or a result', async (what) => {
    const p = pool({ processes: 1, serialization: 'json' });
    const argument = { nested: { toJSON: () => (what === 'symbol' ? Symbol('s') : { helper() {} }) } };
    const sent = await rejectionOf<TypeError & { code?: string }>(p.apply('echo', [argument]));
    expect(sent).toBeInstanceOf(TypeError);
    expect(sent.code).toBe('ERR_POOL_UNSENDABLE');
    expect(sent.message).toMatch(new RegExp(`arguments\\[0\\]\\[0\\]\\.nested.* is a ${what}`));
    const returned = await rejectionOf<TypeError & { code?: string }>(p.apply('oddToJsonResult', [what]));
    expect(returned.code).toBe('ERR_POOL_UNSENDABLE');
    expect(returned.message).toMatch(new RegExp(`result\\[0\\]\\.nested.* is a ${what}`));
    await expectHealthy(p);
  });
});

describe('timeouts of 2^31 ms and more are honoured, not fired at once', () => {
  const LONG = 2 ** 31;

  test('a task timeout and taskTimeout', async () => {
    const p = pool({ processes: 1, taskTimeout: 2 ** 32 });
    expect(await p.apply('sleep', [50], { timeout: LONG })).toBe(50);
    expect(await p.apply('sleep', [50])).toBe(50);
  });

  test('AsyncResult.get, Future.result, wait and asCompleted', async () => {
    const p = pool({ processes: 1 });
    expect(await p.applyAsync('sleep', [50]).get(LONG)).toBe(50);
    await using ex = new ProcessPoolExecutor({ maxWorkers: 1, module: TASKS });
    const future = ex.submit('sleep', 50);
    expect(await future.result(LONG)).toBe(50);
    const futures = [ex.submit('sleep', 30), ex.submit('sleep', 20)];
    const { notDone } = await wait(futures, { timeout: LONG });
    expect(notDone.size).toBe(0);
    const later = [ex.submit('sleep', 30)];
    for await (const done of asCompleted(later, { timeout: LONG })) expect(done.done()).toBe(true);
    const results: number[] = [];
    for await (const value of ex.map('sleep', [10, 20], { timeout: LONG })) results.push(value as number);
    expect(results).toEqual([10, 20]);
  });
});

describe('start-up failures break a respawning pool instead of forking forever', () => {
  test('a task module whose top level calls process.exit(0)', async () => {
    const p = pool({ processes: 1, module: fixture('exits-at-load.js'), onWorkerCrash: 'respawn' });
    const error = await rejectionOf<BrokenPoolError>(p.apply('never'));
    expect(error).toBeInstanceOf(BrokenPoolError);
    expect(error.message).toMatch(/before it had finished a first task.*broken/);
    expect(p.broken).toBe(true);
    await p.join();
  });
});

describe('fork failures', () => {
  test('no such cwd: the calls fail with BrokenPoolError whose cause is the OS error', async () => {
    const cwd = path.join(scratch(), 'no', 'such', 'dir');
    const p = pool({ cwd });
    const error = await rejectionOf<BrokenPoolError>(p.apply('pid'));
    expect(error).toBeInstanceOf(BrokenPoolError);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(error.message).not.toMatch(/pid undefined/);
    expect(p.broken).toBe(true);
    await p.join();
  });

  test('out of file descriptors: BrokenPoolError with the cause, no child left behind, no crash', async () => {
    const { code, result, output } = await runParent('fork-failure-parent.js', ['200'], 64);
    expect(result).toEqual(expect.objectContaining({ name: 'BrokenPoolError', causeCode: 'EMFILE', broken: true, left: 0 }));
    expect(code).toBe(0);
    expect(output).not.toMatch(/TypeError/);
  });
});

describe('silent hangs', () => {
  test('a child script of another protocol version fails the pool at once, saying so', async () => {
    // The child script of another release: this one's, with another protocol version.
    const built = fs.readFileSync(path.join(__dirname, '..', 'dist', 'child.cjs'), 'utf8');
    const stale = path.join(scratch(), 'child.cjs');
    expect(built).toMatch(/var PROTOCOL_VERSION = \d+;/);
    fs.writeFileSync(stale, built.replace(/var PROTOCOL_VERSION = \d+;/, 'var PROTOCOL_VERSION = 99;'));
    const p = pool({ processes: 1, childScript: stale });
    const error = await rejectionOf<BrokenPoolError>(p.apply('pid'));
    expect(error).toBeInstanceOf(BrokenPoolError);
    expect(error.message).toMatch(/speaks protocol version 99.*another release of forkpool/);
    expect(p.broken).toBe(true);
    await p.join();
  });
});

describe('lost causes', () => {
  test.each([
    ['a timer that throws after its task returned', 'lateThrow', RangeError, 'thrown by a timer the task left behind'],
    ['a promise that rejects after its task returned, unhandled', 'lateRejection', SyntaxError, 'rejected after the task returned'],
  ])('%s: the next task fails with the error as its cause', async (_what, task, type, message) => {
    // The dying child prints the error as Node would have: to its stderr, which the test reads.
    const p = pool({ processes: 1, onWorkerCrash: 'respawn', stderr: 'pipe' });
    let stderr = '';
    p.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Half a second: long enough for the next task to be running when it goes off, even on a loaded machine.
    expect(await p.apply(task as 'lateThrow', [500])).toBe('returned');
    const error = await rejectionOf<BrokenPoolError>(p.apply('sleep', [2000]));
    expect(error).toBeInstanceOf(BrokenPoolError);
    expect(error.exitCode).toBe(1);
    expect(error.cause).toBeInstanceOf(type);
    expect((error.cause as Error).message).toBe(message);
    expect(error.message).toContain(message);
    await expectHealthy(p);
    expect(stderr).toContain(message);
  });

  test('a DOMException comes back as a DOMException', async () => {
    const p = pool({ processes: 1 });
    const error = await rejectionOf<DOMException>(p.apply('throwDomException', ['DataCloneError']));
    expect(error).toBeInstanceOf(DOMException);
    expect(error.name).toBe('DataCloneError');
    expect(error.message).toBe('a DataCloneError');
    expect(error.stack).toContain('throwDomException');
    const reason = await rejectionOf<DOMException>(p.apply('throwAbortReason'));
    expect(reason).toBeInstanceOf(DOMException);
    expect(reason.name).toBe('AbortError');
  });

  test('a cause cycle comes back as a cycle', async () => {
    const p = pool({ processes: 1 });
    const error = await rejectionOf<Error>(p.apply('throwCauseCycle'));
    expect(error.message).toBe('a');
    const cause = error.cause as Error;
    expect(cause).toBeInstanceOf(TypeError);
    expect(cause.message).toBe('b');
    expect(cause.cause).toBe(error);
  });
});

describe('options of the wrong type are refused up front, naming the option', () => {
  test.each([
    ['env', 'x', /`env`.*'x' \(string\)/],
    ['env', null, /`env`.*null/],
    ['execArgv', [1], /`execArgv`.*1 \(number\) at index 0/],
    ['execArgv', '--inspect', /`execArgv`.*'--inspect'/],
    ['cwd', 5, /`cwd`.*5 \(number\)/],
  ])('%s: %p', (option, value, message) => {
    const error = thrownBy(() => new Pool({ [option]: value } as never)) as Error;
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(message);
  });
});
