/**
 * Every example runs as the README says (`npx ts-node examples/<name>.ts`), exits 0 and prints what it
 * promises. The ts-node binary is started with node directly: the same program, without npx's start-up.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { speedupAdvice } from '../examples/tasks/speedup-advice';
import { useScratchDir } from './helpers';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..');
const TS_NODE = require.resolve('ts-node/dist/bin.js');

/** ts-node compiles each example on start-up, and every example forks children of its own. */
jest.setTimeout(120_000);

async function example(name: string, args: string[] = [], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const env = { ...process.env, ...extraEnv };
  delete env.NODE_EXTRA_CA_CERTS;
  const { stdout } = await run(process.execPath, [TS_NODE, `examples/${name}.ts`, ...args], {
    cwd: ROOT,
    env,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** The numbers in the first line that matches `pattern`'s capture groups. */
function numbers(stdout: string, pattern: RegExp): number[] {
  const match = pattern.exec(stdout);
  if (match === null) throw new Error(`No line matches ${pattern} in:\n${stdout}`);
  return match.slice(1).map((group) => Number(group.replace(/,/g, '')));
}

test('demo: the pool counts the same primes as the serial run, and reports start-up and speedup apart', async () => {
  const stdout = await example('demo', ['200000']);
  const [serial] = numbers(stdout, /^serial: (\d+) primes/m);
  const [pooled] = numbers(stdout, /^pool: +(\d+) primes/m);
  expect(serial).toBe(17984); // π(200,000)
  expect(pooled).toBe(serial);
  expect(stdout).toMatch(/^answers match$/m);
  expect(stdout).toMatch(/^ {2}start-up: \d+\.\d\d s \(\d+ children forked, the task module loaded in each\)$/m);
  const [speedup] = numbers(stdout, /^speedup: (\d+\.\d\d)x$/m);
  // A slowdown is never printed without saying why, and the advice is never the limit just used.
  if (speedup < 1) expect(stdout).toMatch(/too small to gain from \d+ processes.*npm run demo -- 2000000\./);
  // Not a terminal: progress comes as a few plain lines, fed by the tasks' events, ending at 100%.
  expect(stdout).toMatch(/^ {2}pool {3}50% \| \d+\/64 ranges/m);
  expect(stdout).toMatch(/^ {2}pool {3}64\/64 ranges \(100%\)$/m);
  const perChild = [...stdout.matchAll(/^ {4}child \d+: (\d+) ranges counted$/gm)].map(([, ranges]) => Number(ranges));
  expect(perChild.reduce((sum, ranges) => sum + ranges, 0)).toBe(64);
  expect(stdout).not.toContain('\r');
});

test('shared-memory: children blur an image in place, band by band, to the same pixels as one process', async () => {
  const stdout = await example('shared-memory', ['512']);
  expect(stdout).toMatch(/^A 512×512 image \(0 MiB\) in SharedMemory, shared: true$/m);
  expect(stdout).toMatch(/^blurred by \d+ tasks on \d+ processes in \d+\.\d\d s/m);
  expect(stdout).toMatch(/^the same pixels as the blur in this process: true$/m);
  expect(stdout).toMatch(/^histogram: 262144 pixels, the brightest level \d+$/m);
});

describe("the demo's advice when the pool was not faster", () => {
  const facts = { limit: 200_000, ranges: 64, processes: 2, serialMs: 60, speedup: 0.5, load: 0.1, cores: 2 };

  test('none when the pool was faster', () => {
    expect(speedupAdvice({ ...facts, speedup: 1.9 })).toEqual([]);
  });

  test('small tasks: a larger limit than the one just used', () => {
    const [advice] = speedupAdvice(facts);
    expect(advice).toMatch(/too small to gain/);
    expect(advice).toContain('npm run demo -- 2000000.');
    // After a run at the default limit it never suggests that same limit.
    expect(speedupAdvice({ ...facts, limit: 15_000_000, serialMs: 200 })[0]).toContain('npm run demo -- 150000000.');
  });

  test('tasks large enough: the cores were busy, with the load average, not a larger limit', () => {
    const [advice] = speedupAdvice({ ...facts, limit: 15_000_000, serialMs: 4000, speedup: 0.53, load: 3.7 });
    expect(advice).toMatch(/load average is 3\.70 on 2 cores/);
    expect(advice).not.toMatch(/npm run demo --/);
  });
});

test('progress: a progress bar fed by the tasks\' emit() events', async () => {
  const stdout = await example('progress');
  expect(stdout).toMatch(/^ {2}25% done$/m);
  expect(stdout).toMatch(/^ {2}100% done$/m);
  expect(stdout).toMatch(/^made the thumbnails of 12 files; the first: photo-01\.jpg → [0-9a-f]{12}$/m);
  expect(stdout).toContain('events received: 12 files reported done');
});

test('elastic: the pool grows under a burst and shrinks back to its minimum when idle', async () => {
  const stdout = await example('elastic');
  expect(stdout).toMatch(/quiet: processes 1 /);
  expect(stdout).toMatch(/under load: processes 4 /);
  expect(stdout).toMatch(/idle again: processes 1 /);
  expect([...stdout.matchAll(/exited \(idle\)/g)]).toHaveLength(3);
  expect(stdout).toContain('4 children started over the run, 12 requests served');
});

test('quick-start: apply, map, inline function, close/join and await using', async () => {
  const stdout = await example('quick-start');
  expect(stdout).toContain('fib(30) = 832040');
  expect(stdout).toContain('squares: 1 4 9 16 25 36 49 64');
  expect(stdout).toContain('fib(25..28): 75025 121393 196418 317811');
  expect(stdout).toContain('slowSquare(9) = 81');
  expect(stdout).toContain('sum of the squares: 204');
  const [childPid, parentPid] = numbers(stdout, /inline task ran in child (\d+); this process is (\d+)/);
  expect(childPid).not.toBe(parentPid);
  expect(stdout).toMatch(/second pool disposed\s*$/);
});

test('imap-streaming: an endless generator is read lazily and closed when the loop breaks', async () => {
  const stdout = await example('imap-streaming');
  expect(stdout).toContain('first number with at least 350 steps: 77031 (350 steps)');
  const [produced, readAhead] = numbers(stdout, /the generator produced ([\d,]+) numbers \(([\d,]+) read ahead/);
  expect(produced).toBeGreaterThanOrEqual(77031);
  // A bounded window of chunks of 500 ahead of the loop, not the whole (endless) input.
  expect(readAhead).toBeLessThan(100 * 500);
  expect(stdout).toContain('generator closed: true');
});

test('initializer: the table is built once per child, not once per task', async () => {
  const stdout = await example('initializer');
  // One build per child: no pid builds twice, and every child that ran tasks built the table once.
  // (A child still starting when the work is done may exit before it builds anything.)
  const builders = [...stdout.matchAll(/\[child (\d+)\] built the prime table/g)].map(([, pid]) => pid);
  expect(builders.length).toBeGreaterThanOrEqual(1);
  expect(builders.length).toBeLessThanOrEqual(2);
  expect(new Set(builders).size).toBe(builders.length);
  const children = [...stdout.matchAll(/^child (\d+): ran (\d+) tasks, built the table (\d+) time\(s\)$/gm)];
  expect(children.length).toBeGreaterThanOrEqual(1);
  expect(children.reduce((sum, [, , tasks]) => sum + Number(tasks), 0)).toBe(40);
  for (const [, pid, , times] of children) {
    expect(times).toBe('1');
    expect(builders).toContain(pid);
  }
  expect(stdout).toContain('9999998 is the sum of two primes in 28983 ways');
  expect(stdout).toMatch(/^every even number from 9999920 to 9999998: at least \d+ ways$/m);
  expect(stdout).toContain('with a failing initializer: BrokenPoolError, cause: Cannot build a prime table up to -1.');
  expect(stdout).toContain('pool broken: true');
});

test('recycling: maxTasksPerChild replaces children and bounds the leak', async () => {
  const stdout = await example('recycling');
  const [childrenBefore, leakedBefore] = numbers(
    stdout,
    /^without maxTasksPerChild: 20 tasks ran in (\d+) children; a child leaked at most (\d+) MB/m,
  );
  const [childrenAfter, leakedAfter] = numbers(
    stdout,
    /^with maxTasksPerChild: 4: 20 tasks ran in (\d+) children; a child leaked at most (\d+) MB/m,
  );
  expect(childrenBefore).toBeLessThanOrEqual(2);
  expect(leakedBefore).toBeGreaterThanOrEqual(80); // some child ran at least 10 tasks of 8 MB
  expect(childrenAfter).toBeGreaterThanOrEqual(5); // 20 tasks, at most 4 per child
  expect(leakedAfter).toBeLessThanOrEqual(32); // at most 4 tasks of 8 MB per child
});

test('typed-tasks: a typed task module', async () => {
  const stdout = await example('typed-tasks');
  expect(stdout).toContain("wordCount('one two three') = 3");
  expect(stdout).toContain('topWords(document 0, 2) = [["pool",2],["each",1]]');
  expect(stdout).toMatch(/^Pools: 17 words, most frequent: pool \(2\)/m);
  expect(stdout).toMatch(/^Chunks: 17 words/m);
});

test('inline-functions: self-contained functions run; a closure fails with an error naming the variable', async () => {
  const stdout = await example('inline-functions');
  expect(stdout).toContain('cubes: 1 8 27 64');
  expect(stdout).toMatch(/sha256\('forkpool'\) starts with [0-9a-f]{16}/);
  expect(stdout).toMatch(/closing over 'factor' fails: ReferenceError: .*outer variable 'factor'/);
  expect(stdout).toContain("passing 'factor' as an argument works: 10 20 30");
  expect(stdout).toMatch(/using the imported 'path' fails: .*outer variable 'node_path_1'/);
  expect(stdout).toContain("requiring 'node:path' inside works: report.txt");
});

test('threads: the same calls over threads, buffers moved both ways, memory shared', async () => {
  const stdout = await example('threads');
  expect(stdout).toMatch(/^Pool: 1 in process \d+, 2 in process \d+$/m);
  expect(stdout).toMatch(/^ThreadPool: 1 in thread \d+ of process \d+, 2 in thread \d+ of process \d+$/m);
  expect(stdout).toContain('a sine wave of 1000000 samples came back, 8000000 bytes moved');
  expect(stdout).toContain('its power is 0.500; here it now holds 0 bytes');
  expect(stdout).toContain('squared in place by the threads: shared[3] = 9, shared[999] = 998001');
});

describe('cluster, on a machine without redis-server', () => {
  const bin = useScratchDir('forkpool-example-path-');

  test('it says how to get Redis, and exits 0', async () => {
    // A PATH with node alone on it: no redis-server to be found.
    fs.symlinkSync(process.execPath, path.join(bin(), 'node'));
    const stdout = await example('cluster', [], { PATH: bin(), REDIS_URL: undefined });
    expect(stdout).toMatch(/needs Redis: redis-server is not on the PATH/);
    expect(stdout).toMatch(/apt-get install -y redis-server/);
    expect(stdout).toMatch(/REDIS_URL=redis:\/\/127\.0\.0\.1:6379/);
  });
});
