/**
 * Protocol robustness: the IPC channel is shared with the tasks, and stdout/stderr with the parent. A task
 * that sends its own messages, even ones shaped like the pool's, or that floods the output, disturbs nothing.
 */
import { BrokenPoolError } from '../src';
import { fixture, rejectionOf, usePools } from './helpers';
import { expectNoChildrenLeft, Script } from './faults-helpers';

const IMPOSTOR = fixture('impostor-messages.js');

let script: Script | undefined;

afterEach(() => {
  script?.kill();
  script = undefined;
});

const pool = usePools({ processes: 2, module: IMPOSTOR });

afterAll(expectNoChildrenLeft);

test("a task's own process.send messages, even ones shaped like the pool's, are ignored", async () => {
  const p = pool();
  const pids = p.pids;
  const items = Array.from({ length: 40 }, (_, i) => i);
  const [sent, squares, one] = await Promise.all([
    p.map('impostor', items, { chunksize: 1 }),
    p.map('square', items, { chunksize: 3 }),
    p.apply('impostor', [21]),
  ]);
  expect(sent).toEqual(items.map((i) => i * 2));
  expect(squares).toEqual(items.map((i) => i * i));
  expect(one).toBe(42);
  expect(p.broken).toBe(false);
  expect(p.pids.sort()).toEqual([...pids].sort());
});

test('a task that cuts the IPC channel fails as a crash, not a hang', async () => {
  const p = pool({ onWorkerCrash: 'respawn' });
  const error = await rejectionOf(p.apply('disconnect'));
  expect(error).toBeInstanceOf(BrokenPoolError);
  expect(await p.map('square', [1, 2, 3], { chunksize: 1 })).toEqual([1, 4, 9]);
});

describe('children writing megabytes to stdout and stderr', () => {
  // Run by a parent of its own, whose output this test drains and counts: 6 tasks of 2 MiB on each stream.
  const mebibytes = 2;
  let outcome: { code: number | null; result: string | undefined; stdoutBytes: number; stderrBytes: number };

  beforeAll(async () => {
    const flood = new Script('flood-parent.js', [String(mebibytes)], { keepLines: false });
    try {
      const { code } = await flood.exited;
      outcome = { code, result: flood.linesOf('RESULT')[0], stdoutBytes: flood.stdoutBytes, stderrBytes: flood.stderrBytes };
    } finally {
      flood.kill();
    }
  });

  test('do not stall the pool: every task, loud or quiet, completes', () => {
    expect(outcome.result).toBeDefined();
    expect(JSON.parse(outcome.result!)).toEqual({
      loud: [2, 4, 6, 8, 10, 12],
      quietSum: Array.from({ length: 200 }, (_, i) => i * i).reduce((a, b) => a + b, 0),
    });
    expect(outcome.code).toBe(0);
  });

  test('lose none of what they wrote, even when they exit right after', () => {
    const written = 6 * mebibytes * 1024 * 1024;
    expect(outcome.stdoutBytes).toBeGreaterThanOrEqual(written);
    expect(outcome.stderrBytes).toBeGreaterThanOrEqual(written);
  });
});
