/**
 * Where things are, from wherever this file runs (its TypeScript source or the transpiled copy the measuring
 * processes run), and the environment every spawned process gets.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The directory of forkpool's package.json, the nearest one above `from`. */
function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (manifest.name === 'forkpool') return dir;
    } catch {
      // no package.json here, or someone else's: keep going up
    }
    if (path.dirname(dir) === dir) throw new Error(`forkpool's package.json not found above ${from}`);
  }
}

export const ROOT = findRoot(__dirname);
export const BENCH = path.join(ROOT, 'bench');
/** forkpool as users get it: the built package. */
export const PACKAGE_ENTRY = path.join(ROOT, 'dist', 'index.cjs');

/** Where the measuring processes find the entry point of the --baseline build. */
export const BASELINE_ENV = 'FORKPOOL_BENCH_BASELINE';

/**
 * The CommonJS entry point of the forkpool build in `dir` (a checkout with dist/ built, or an unpacked
 * package), or undefined when it holds none.
 */
export function baselineEntry(dir: string): string | undefined {
  return ['dist/index.cjs', 'dist/index.js'].map((file) => path.resolve(dir, file)).find((file) => fs.existsSync(file));
}

/** The task functions, plain CommonJS so that every pool's children load them without a compiler. */
export const TASKS = path.join(BENCH, 'tasks', 'tasks.js');
export const WORKER_FARM_TASKS = path.join(BENCH, 'tasks', 'worker-farm-tasks.js');
export const WORKERPOOL_WORKER = path.join(BENCH, 'tasks', 'workerpool-worker.js');
export const RAW_CHILD = path.join(BENCH, 'tasks', 'raw-child.js');
export const PYTHON_POOLS = path.join(BENCH, 'python', 'pools.py');

/**
 * The measuring processes run a transpiled copy of bench/ from here (no compiler loaded in them): inside
 * bench/node_modules, so that the copy finds the peers' packages, which bench/package.json installs there.
 */
export const TRANSPILED = path.join(BENCH, 'node_modules', '.cache', 'forkpool-bench');

/** The real workload's input: a directory of a package in node_modules. */
export const GZIP_DIR = path.join(ROOT, 'node_modules', 'typescript', 'lib');

export const DEFAULT_RESULTS = path.join(BENCH, 'RESULTS.md');

/**
 * The environment for every process the harness starts, and through them their children.
 * NODE_EXTRA_CA_CERTS makes every node start read a CA bundle, tens of milliseconds that would swamp the
 * start-up times of workload D.
 */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}
