/**
 * examples/executor.ts runs as its header says (`npx ts-node examples/executor.ts`), with a TypeScript task
 * module, exits 0 and prints what it promises: submit, as-completed progress and cancel.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { isAlive } from './helpers';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');
const TS_NODE = path.join(ROOT, 'node_modules', '.bin', 'ts-node');

/** ts-node compiles the example on start-up, and the children compile the task module. */
jest.setTimeout(120_000);

test('examples/executor.ts: submit, asCompleted progress, cancel, shutdown', async () => {
  const { stdout, stderr } = await run(TS_NODE, ['examples/executor.ts'], { cwd: ROOT, timeout: 110_000 });
  expect(stderr).not.toMatch(/Error/);

  // submit, result(timeout), a task's error.
  expect(stdout).toContain('collatzSteps(27) = 111');
  expect(stdout).toContain('collatzSteps(97) = 118');
  expect(stdout).toContain('parseRecord failed: SyntaxError');

  // asCompleted: one progress line per download, counting up, each download once.
  const progress = [...stdout.matchAll(/^\[(\d)\/6\] (\S+): \d+ bytes \(child (\d+)\)$/gm)];
  expect(progress.map((m) => Number(m[1]))).toEqual([1, 2, 3, 4, 5, 6]);
  expect(new Set(progress.map((m) => m[2]))).toEqual(
    new Set(['index.html', 'logo.png', 'data.csv', 'app.js', 'styles.css', 'video.mp4']),
  );
  const childPids = progress.map((m) => Number(m[3]));

  // cancel: the running job cannot be cancelled; some queued ones are, and they reject with CancelledError.
  expect(stdout).toContain('job 0 is running; cancel() returns false');
  const cancelled = /^cancelled (\d) of 6 queued jobs$/m.exec(stdout);
  const outcome = /^(\d) queued jobs ran, (\d) rejected with CancelledError$/m.exec(stdout);
  expect(cancelled).not.toBeNull();
  expect(outcome).not.toBeNull();
  const [withdrawn, ran, rejected] = [Number(cancelled![1]), Number(outcome![1]), Number(outcome![2])];
  expect(withdrawn).toBeGreaterThan(0);
  expect(rejected).toBe(withdrawn);
  expect(ran + rejected).toBe(6);
  expect(stdout).toContain('job 0 finished anyway: 0');

  // Shut down at the end of the `await using` block, children and all.
  expect(stdout.trimEnd().endsWith('executor shut down')).toBe(true);
  for (const pid of childPids) expect(isAlive(pid)).toBe(false);
});
