/**
 * The demo: count the primes below a limit by trial division, first serially in this process, then spread
 * over a Pool with one child per core, and compare. While the pool works, a progress bar fed by the tasks'
 * own events (each task reports how far it has got within its range) and a line per child (from stats()
 * and the pool's lifecycle events) show what each process is doing.
 *
 *   npm run demo                   # limit 15,000,000: a few seconds serially
 *   npm run demo -- 2000000        # a smaller limit (or PRIMES_LIMIT=2000000 npm run demo)
 *
 * On a terminal the bars redraw in place; written to a file or a pipe, the demo prints plain lines.
 */
import cliProgress from 'cli-progress';
import os from 'node:os';
import path from 'node:path';
import { Pool } from '../src';
import { countPrimes, splitRange } from './tasks/primes';
import { speedupAdvice } from './tasks/speedup-advice';

const DEFAULT_LIMIT = 15_000_000;
/** Many more ranges than cores: the children pull the next range as soon as they finish one. */
const RANGES = 64;
const TTY = process.stdout.isTTY === true;
/** How often the bars are redrawn on a terminal. */
const REDRAW_MS = 100;

function parseLimit(): number {
  const raw = process.argv[2] ?? process.env.PRIMES_LIMIT;
  if (raw === undefined) return DEFAULT_LIMIT;
  const limit = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(limit) || limit < RANGES) {
    console.error(`Expected the limit to be an integer of at least ${RANGES}, got '${raw}'.`);
    process.exit(2);
  }
  return limit;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** What the progress shows beside the bar, and the lines under it (one per child, by key). */
interface Status {
  text: string;
  lines?: Array<[key: string, text: string]>;
}

/**
 * Progress over `total` numbers checked: bars that redraw on a terminal, else a line at every quarter. The
 * status is asked for only when something is drawn, so that counting (and the pool) loses no time to it.
 */
class Progress {
  readonly #total: number;
  readonly #label: string;
  readonly #status: () => Status;
  readonly #multi: cliProgress.MultiBar | undefined;
  readonly #bar: cliProgress.SingleBar | undefined;
  readonly #lines = new Map<string, cliProgress.SingleBar>();
  #done = 0;
  #quartersShown = 0;
  #drawnAt = 0;

  constructor(label: string, total: number, status: () => Status) {
    this.#total = total;
    this.#label = label;
    this.#status = status;
    if (!TTY) return;
    this.#multi = new cliProgress.MultiBar(
      { format: '  {label} [{bar}] {percentage}% | {text}', hideCursor: true, clearOnComplete: false, barsize: 30 },
      cliProgress.Presets.shades_classic,
    );
    this.#bar = this.#multi.create(total, 0, { label, text: '' });
  }

  /** `checked` more numbers are done. */
  advance(checked: number): void {
    this.#done += checked;
    if (this.#multi !== undefined) {
      if (performance.now() - this.#drawnAt >= REDRAW_MS || this.#done === this.#total) this.#draw(this.#multi);
    } else if (Math.floor((4 * this.#done) / this.#total) > this.#quartersShown) {
      this.#quartersShown = Math.floor((4 * this.#done) / this.#total);
      console.log(`  ${this.#label} ${this.#quartersShown * 25}% | ${this.#status().text}`);
    }
  }

  stop(): void {
    if (this.#multi === undefined) return;
    this.#draw(this.#multi);
    this.#multi.stop();
  }

  /**
   * cli-progress redraws on a timer, which never fires while the serial run holds this thread: the bars are
   * drawn from here instead, every REDRAW_MS.
   */
  #draw(multi: cliProgress.MultiBar): void {
    this.#drawnAt = performance.now();
    const { text, lines = [] } = this.#status();
    this.#bar!.update(this.#done, { text });
    for (const [key, line] of lines) {
      let bar = this.#lines.get(key);
      if (bar === undefined) {
        bar = multi.create(1, 0, { text: line }, { format: '    {text}' });
        this.#lines.set(key, bar);
      }
      bar.update(0, { text: line });
    }
    multi.update();
  }
}

async function main(): Promise<void> {
  const limit = parseLimit();
  const ranges = splitRange(limit, RANGES);
  const processes = os.availableParallelism();
  console.log(`Counting the primes below ${limit.toLocaleString('en-US')} in ${RANGES} ranges.`);

  // 1. Serially, in this process.
  console.log('Serial, in this process:');
  const serialProgress = new Progress('serial', limit, () => ({ text: 'this process alone' }));
  let serialCount = 0;
  let start = performance.now();
  for (const range of ranges) {
    serialCount += countPrimes(range, (checked) => serialProgress.advance(checked));
  }
  const serialMs = performance.now() - start;
  serialProgress.stop();

  // 2. With a pool. Starting it (forking the children, loading the task module in each) is timed apart:
  // it is paid once per pool, however much work follows.
  console.log(`With a Pool of ${processes} processes:`);
  start = performance.now();
  // The type parameter makes the task names checked: their arguments and results follow from the module.
  const pool = new Pool<typeof import('./tasks/primes')>({ processes, module: path.join(__dirname, 'tasks', 'primes.js') });
  // What each child is doing, from the pool's lifecycle events and the tasks' own events.
  const children = new Map<number, { ranges: number; lastHeard: number; exit?: string }>();
  pool.on('spawn', ({ pid }) => children.set(pid, { ranges: 0, lastHeard: 0 }));
  pool.on('exit', ({ pid, reason }) => {
    const child = children.get(pid);
    if (child !== undefined) child.exit = reason;
  });
  // One tiny range per child: each child boots, loads the module, and is ready.
  await pool.map('countPrimes', Array.from({ length: processes }, (): [number, number] => [0, 1]), { chunksize: 1 });
  const startupMs = performance.now() - start;
  console.log(`  start-up: ${seconds(startupMs)} (${processes} children forked, the task module loaded in each)`);

  let poolCount = 0;
  let rangesDone = 0;
  const describe = (pid: number) => {
    const child = children.get(pid)!;
    const state = child.exit !== undefined ? `exited (${child.exit})` : performance.now() - child.lastHeard < 250 ? 'busy' : 'idle';
    return `child ${pid}: ${state.padEnd(4)}  ${String(child.ranges).padStart(2)} ranges counted`;
  };
  const poolProgress = new Progress('pool  ', limit, () => {
    const { busy, queued } = pool.stats();
    return {
      text: `${rangesDone}/${RANGES} ranges, ${busy} busy, ${queued} waiting`,
      lines: [...children.keys()].map((pid): [string, string] => [String(pid), describe(pid)]),
    };
  });
  start = performance.now();
  try {
    // imapUnordered yields each range's count as soon as some child finishes it, whatever the order; the
    // events arrive while each range is still being counted.
    const counts = pool.imapUnordered('countPrimesWithProgress', ranges, {
      onEvent: (event, { pid }) => {
        const { checked, finished } = event as { checked: number; finished: boolean };
        const child = children.get(pid);
        if (child !== undefined) {
          child.lastHeard = performance.now();
          if (finished) child.ranges++;
        }
        poolProgress.advance(checked);
      },
    });
    for await (const count of counts) {
      poolCount += count;
      rangesDone++;
    }
  } finally {
    pool.close();
    await pool.join();
  }
  const poolMs = performance.now() - start;
  poolProgress.stop();
  if (!TTY) {
    console.log(`  pool   ${rangesDone}/${RANGES} ranges (100%)`);
    for (const [pid, child] of children) console.log(`    child ${pid}: ${child.ranges} ranges counted`);
  }

  console.log(`serial: ${serialCount} primes in ${seconds(serialMs)}`);
  console.log(`pool:   ${poolCount} primes in ${seconds(poolMs)} (${processes} processes; start-up ${seconds(startupMs)} apart)`);
  if (serialCount !== poolCount) {
    console.error(`MISMATCH: the serial run counted ${serialCount}, the pool ${poolCount}.`);
    process.exitCode = 1;
    return;
  }
  console.log('answers match');
  const speedup = serialMs / poolMs;
  console.log(`speedup: ${speedup.toFixed(2)}x`);
  const [load] = os.loadavg();
  for (const line of speedupAdvice({ limit, ranges: RANGES, processes, serialMs, speedup, load, cores: os.availableParallelism() })) {
    console.log(line);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
