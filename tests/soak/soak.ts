/**
 * The soak: many small tasks through a pool whose children are recycled every 100 tasks and SIGKILLed
 * from outside at random, with onWorkerCrash 'respawn'. Afterwards every task must be accounted for exactly
 * once, as its correct result or a BrokenPoolError (the task a killed child held); none may have run twice,
 * and no child may outlive join().
 *
 * Used by tests/soak.test.ts (20,000 tasks) and by tests/soak/main.ts (`npm run soak`, 1,000,000).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BrokenPoolError, Pool } from '../../src';
import { isAlive } from '../helpers';
import { parentOf } from '../faults-helpers';
import { TaskDriver } from './task-driver';

export interface SoakOptions {
  tasks: number;
  /** A random child is SIGKILLed every `killEveryMs` on average (between half and one and a half of it). */
  killEveryMs: number;
  /** @default 2 */
  processes?: number;
  /** @default 100 */
  maxTasksPerChild?: number;
  /** Tasks submitted and not yet settled, at most. @default 2000 */
  inFlight?: number;
  /** Give up when no task has settled for this long. @default 60000 */
  stallMs?: number;
  /** Progress lines, for a long run. */
  log?: (line: string) => void;
}

export interface SoakReport {
  tasks: number;
  /** Resolved with the right value. */
  succeeded: number;
  /** Rejected with a BrokenPoolError from a child killed by the soak. */
  broken: number;
  /** Resolved with a wrong value. */
  wrong: number;
  /** Rejected with anything else (including a BrokenPoolError not caused by a kill). */
  otherErrors: number;
  /** Never settled (only when the run stalled). */
  unsettled: number;
  /** Inputs that a child ran more than once. */
  ranTwice: number;
  kills: number;
  childrenSeen: number;
  /** Children still alive after join(). */
  survivors: number[];
  poolBroken: boolean;
  /** Why the pool broke, if it did: the message its tasks were rejected with. */
  breakMessage: string | undefined;
  stalled: boolean;
  ms: number;
  /** Everything that went wrong, in words; empty for a good run. */
  problems: string[];
}

const TASK_MODULE = path.join(__dirname, '..', 'fixtures', 'soak-tasks.js');

const expected = (i: number): number => i * 3 + 1;

const enum Outcome {
  Pending = 0,
  Succeeded,
  Broken,
  Wrong,
  Other,
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { tasks, killEveryMs, processes = 2, maxTasksPerChild = 100, inFlight = 2000, stallMs = 60000, log } = options;
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkpool-soak-'));
  const runsFile = path.join(dir, 'runs');
  const pool = new Pool({
    processes,
    module: TASK_MODULE,
    onWorkerCrash: 'respawn',
    maxTasksPerChild,
    env: { ...process.env, FORKPOOL_SOAK_RUNS: runsFile },
  });

  // Every child the pool ever had: sampled often, since a recycled child lives for a moment only.
  const seen = new Set<number>();
  const sample = (): void => {
    for (const pid of pool.pids) seen.add(pid);
  };
  sample();
  const sampler = setInterval(sample, 2);

  let kills = 0;
  const killed = new Set<number>();
  // Only children that have answered a task are killed: one killed before that failed to start, and a few
  // failed starts in a row rightly break a pool (API.md, "Start-up failures").
  const answered = new Set<number>();
  let killer: NodeJS.Timeout | undefined;
  const scheduleKill = (): void => {
    killer = setTimeout(() => {
      const pids = pool.pids.filter((pid) => answered.has(pid));
      if (pids.length > 0) {
        const pid = pids[Math.floor(Math.random() * pids.length)];
        seen.add(pid);
        try {
          process.kill(pid, 'SIGKILL');
          kills++;
          killed.add(pid);
        } catch {
          // exited on its own just now
        }
      }
      scheduleKill();
    }, killEveryMs * (0.5 + Math.random()));
  };
  scheduleKill();

  const outcomes = new Uint8Array(tasks);
  const otherErrorSamples: string[] = [];
  let duplicateSettlements = 0;
  let breakMessage: string | undefined;

  const record = (i: number, outcome: Outcome, error?: unknown): void => {
    if (driver.stalled) return;
    if (outcomes[i] !== Outcome.Pending) duplicateSettlements++;
    outcomes[i] = outcome;
    if (outcome === Outcome.Other && otherErrorSamples.length < 5) otherErrorSamples.push(`task ${i}: ${String(error)}`);
    driver.settled();
  };
  const driver = new TaskDriver({
    tasks,
    inFlight,
    stallMs,
    start(i) {
      pool.apply('mix', [i]).then(
        ([value, pid]: [number, number]) => {
          answered.add(pid);
          record(i, value === expected(i) ? Outcome.Succeeded : Outcome.Wrong);
        },
        (error: unknown) => {
          if (breakMessage === undefined && pool.broken && error instanceof BrokenPoolError) breakMessage = error.message;
          const ours = error instanceof BrokenPoolError && error.signal === 'SIGKILL' && killed.has(error.pid!);
          record(i, ours ? Outcome.Broken : Outcome.Other, error);
        },
      );
    },
    progress:
      log === undefined
        ? undefined
        : { every: 100_000, log: (settled) => log(`${settled} of ${tasks} settled, ${kills} kills, ${seen.size} children so far`) },
  });
  await driver.run();
  const { stalled } = driver;

  clearTimeout(killer);
  const poolBroken = pool.broken;
  if (stalled) pool.terminate();
  else pool.close();
  await pool.join();
  clearInterval(sampler);
  sample();

  // Which inputs ran more than once, and which children ran them.
  const runs = new Uint8Array(tasks);
  let ranTwice = 0;
  for (const line of fs.readFileSync(runsFile, 'utf8').split('\n')) {
    if (line === '') continue;
    const [input, pid] = line.split(' ').map(Number);
    seen.add(pid);
    if (runs[input]++ === 1) ranTwice++;
  }
  fs.rmSync(dir, { recursive: true, force: true });

  const survivors = [...seen].filter((pid) => isAlive(pid) && parentOf(pid) === process.pid);
  const count = (outcome: Outcome): number => outcomes.reduce((n, o) => (o === outcome ? n + 1 : n), 0);
  const report: SoakReport = {
    tasks,
    succeeded: count(Outcome.Succeeded),
    broken: count(Outcome.Broken),
    wrong: count(Outcome.Wrong),
    otherErrors: count(Outcome.Other),
    unsettled: count(Outcome.Pending),
    ranTwice,
    kills,
    childrenSeen: seen.size,
    survivors,
    poolBroken,
    breakMessage,
    stalled,
    ms: Date.now() - started,
    problems: [],
  };
  const { problems } = report;
  if (stalled) problems.push(`stalled: no task settled for ${stallMs} ms, ${report.unsettled} never settled`);
  if (duplicateSettlements > 0) problems.push(`${duplicateSettlements} settlements of tasks already settled`);
  if (report.wrong > 0) problems.push(`${report.wrong} tasks resolved with a wrong value`);
  if (report.otherErrors > 0) problems.push(`${report.otherErrors} tasks failed otherwise, e.g. ${otherErrorSamples.join('; ')}`);
  if (ranTwice > 0) problems.push(`${ranTwice} inputs ran more than once`);
  if (poolBroken) problems.push(`the pool broke, though onWorkerCrash is 'respawn': ${breakMessage}`);
  if (survivors.length > 0) problems.push(`children alive after join(): ${survivors.join(' ')}`);
  if (report.succeeded + report.broken + report.wrong + report.otherErrors !== tasks) {
    problems.push(`only ${tasks - report.unsettled} of ${tasks} tasks accounted for`);
  }
  return report;
}
