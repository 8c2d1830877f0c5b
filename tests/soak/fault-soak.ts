/**
 * The fault soak: a stream of tasks (quick, slow, busy, big, failing, and with values that cannot be sent)
 * through pools with onWorkerCrash 'respawn', while children that have answered a task are SIGKILLed at
 * random, tasks get random timeouts and random aborts, and the whole pool is terminated at random (then a new
 * one, of the other serialization, takes over). Afterwards:
 *
 * - every task settled exactly once (through apply, or applyAsync whose callback or errorCallback was called
 *   once, before get() settled): with its right value, or with an Error whose code it could have earned
 *   (ERR_POOL_BROKEN from a child the soak killed, ERR_POOL_TIMEOUT if it had a timeout, the abort reason if
 *   it was aborted, ERR_POOL_STATE if its pool was terminated, ERR_POOL_UNSENDABLE for a value that cannot
 *   be sent, E_SOAK_TASK for its own error);
 * - no input ran twice (tasks that were killed, timed out or aborted may have run once), one that
 *   succeeded or failed with its own error ran exactly once, and one failed for a killed child ran on it;
 * - no pool broke, every join() resolved, and no child outlived it.
 *
 * Used by tests/fault-soak.test.ts (1,200 tasks; 20,000 under `npm run test:slow`) and by
 * tests/soak/fault-main.ts (`npm run soak:faults`, 100,000 by default).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BrokenPoolError, Pool, PoolStateError, TimeoutError, type Serialization } from '../../src';
import { parentOf } from '../faults-helpers';
import { isAlive } from '../helpers';
import { TaskDriver } from './task-driver';

export interface FaultSoakOptions {
  tasks: number;
  /** A random child that has answered a task is SIGKILLed every `killEveryMs` on average. @default 300 */
  killEveryMs?: number;
  /**
   * The whole pool is terminated once in `terminateEvery` submissions on average, between half and one and a
   * half of it apart (counted in tasks rather than time, so that a short run on a fast machine has its share
   * too). @default 2000
   */
  terminateEvery?: number;
  /** @default 2 */
  processes?: number;
  /** Tasks submitted and not yet settled, at most. @default 64 */
  inFlight?: number;
  /** Give up when no task has settled for this long. @default 60000 */
  stallMs?: number;
  /** Random numbers, for a run that can be repeated. @default Math.random */
  random?: () => number;
  /** Progress lines, for a long run. */
  log?: (line: string) => void;
}

export interface FaultSoakReport {
  tasks: number;
  /** How the tasks ended: 'succeeded', or the code they failed with. */
  outcomes: Record<string, number>;
  /** Tasks of each kind submitted. */
  kinds: Record<string, number>;
  kills: number;
  /** Tasks given a timeout, and those that failed with ERR_POOL_TIMEOUT. */
  timeoutsSet: number;
  timedOut: number;
  /** Aborts fired (the task may have settled before), and tasks that failed with the abort reason. */
  abortsFired: number;
  aborted: number;
  terminates: number;
  pools: number;
  childrenSeen: number;
  /** Inputs by how often they ran: never, once; twice or more is a problem. */
  ranNever: number;
  ranOnce: number;
  ranTwice: number;
  /** Children alive after every join(). */
  survivors: number[];
  stalled: boolean;
  ms: number;
  /** Everything that went wrong, in words; empty for a good run. */
  problems: string[];
}

const TASK_MODULE = path.join(__dirname, '..', 'fixtures', 'fault-soak-tasks.js');
const expected = (i: number): number => i * 7 + 3;

type Kind = 'normal' | 'slow' | 'spin' | 'big' | 'failing' | 'hostileResult' | 'hostileArgument';
/** How often each kind is submitted, out of 100. */
const MIX: Array<[Kind, number]> = [
  ['normal', 55],
  ['slow', 15],
  ['spin', 5],
  ['big', 5],
  ['failing', 10],
  ['hostileResult', 5],
  ['hostileArgument', 5],
];

/** What the soak did to one task, and how it ended. */
interface TaskRecord {
  kind: Kind;
  pool: PoolRecord;
  timeout?: number;
  abortReason?: Error;
  abortFired: boolean;
  settlements: number;
  outcome?: string;
  /** Why the outcome is wrong, if it is. */
  problem?: string;
  /** For ERR_POOL_BROKEN: the child it names. */
  brokenPid?: number;
  /** For a task sent with applyAsync: how often each of its callbacks was called. */
  callbacks?: { callback: number; errorCallback: number };
}

interface PoolRecord {
  pool: Pool;
  serialization: Serialization;
  terminated: boolean;
  /** Children of this pool that the soak SIGKILLed. */
  killed: Set<number>;
  joined?: Promise<void>;
}

/** The code a task's error is counted under. */
function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : `uncoded ${(error as Error)?.name ?? typeof error}`;
}

export async function runFaultSoak(options: FaultSoakOptions): Promise<FaultSoakReport> {
  const {
    tasks,
    killEveryMs = 300,
    terminateEvery = 2000,
    processes = 2,
    inFlight = 64,
    stallMs = 60_000,
    random = Math.random,
    log,
  } = options;
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkpool-fault-soak-'));
  const runsFile = path.join(dir, 'runs');
  const problems: string[] = [];

  const pools: PoolRecord[] = [];
  const seen = new Set<number>();
  /** Children that have answered a task: only those are killed (see API.md, "Start-up failures"). */
  const answered = new Set<number>();
  const newPool = (): PoolRecord => {
    const serialization: Serialization = pools.length % 2 === 0 ? 'advanced' : 'json';
    const pool = new Pool({
      processes,
      module: TASK_MODULE,
      onWorkerCrash: 'respawn',
      maxTasksPerChild: 500,
      serialization,
      env: { ...process.env, FORKPOOL_FAULT_SOAK_RUNS: runsFile },
    });
    const record: PoolRecord = { pool, serialization, terminated: false, killed: new Set() };
    pools.push(record);
    return record;
  };
  let current = newPool();

  // Every child any pool had, sampled often: a replaced child may live for a moment only. A pid that left
  // its pool leaves `answered` too, so that a new child given the same pid is not mistaken for it.
  const sample = (): void => {
    const live = new Set<number>();
    for (const { pool } of pools) for (const pid of pool.pids) live.add(pid);
    for (const pid of live) seen.add(pid);
    for (const pid of answered) if (!live.has(pid)) answered.delete(pid);
  };
  const sampler = setInterval(sample, 2);

  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  let kills = 0;
  let terminates = 0;
  let abortsFired = 0;
  let finished = false;
  const scheduleKill = (): void =>
    later(killEveryMs * (0.5 + random()), () => {
      if (finished) return;
      const pids = current.pool.pids.filter((pid) => answered.has(pid));
      if (pids.length > 0) {
        const pid = pids[Math.floor(random() * pids.length)];
        try {
          process.kill(pid, 'SIGKILL');
          kills++;
          current.killed.add(pid);
          answered.delete(pid);
        } catch {
          // It exited on its own just now.
        }
      }
      scheduleKill();
    });
  /** Terminate the pool, with whatever it runs and holds, and go on with a new one. */
  const terminate = (): void => {
    const old = current;
    old.terminated = true;
    old.pool.terminate();
    old.joined = joinOf(old);
    terminates++;
    current = newPool();
  };
  /** After how many submissions the pool is next terminated: between half and one and a half of `terminateEvery` on. */
  let terminateAt = terminateEvery * (0.5 + random());
  scheduleKill();

  /** A pool's join(), which must resolve; a rejection is a problem, not a crash of the soak. */
  const joinOf = (record: PoolRecord): Promise<void> =>
    record.pool.join().catch((error: unknown) => {
      problems.push(`join() rejected: ${String(error)}`);
    });

  const records: TaskRecord[] = new Array(tasks);

  /** Whether `error` is a failure this task could have earned; if not, why not. */
  const judgeFailure = (record: TaskRecord, error: unknown): string | undefined => {
    if (record.abortReason !== undefined && error === record.abortReason) return record.abortFired ? undefined : 'the abort reason, though no abort fired';
    if (!(error instanceof Error)) return `not an Error: ${String(error)}`;
    const code = (error as { code?: unknown }).code;
    switch (code) {
      case 'ERR_POOL_BROKEN': {
        const broken = error as BrokenPoolError;
        if (!(error instanceof BrokenPoolError)) return 'ERR_POOL_BROKEN on something other than a BrokenPoolError';
        if (broken.signal === 'SIGKILL' && broken.pid !== undefined && record.pool.killed.has(broken.pid)) return undefined;
        return `a BrokenPoolError not from a child the soak killed: ${error.message}`;
      }
      case 'ERR_POOL_TIMEOUT':
        return error instanceof TimeoutError && record.timeout !== undefined ? undefined : 'ERR_POOL_TIMEOUT without a timeout';
      case 'ERR_POOL_STATE':
        return error instanceof PoolStateError && record.pool.terminated ? undefined : `ERR_POOL_STATE from a pool not terminated: ${error.message}`;
      case 'ERR_POOL_UNSENDABLE':
        return record.kind === 'hostileResult' || record.kind === 'hostileArgument' ? undefined : `ERR_POOL_UNSENDABLE for a ${record.kind} task: ${error.message}`;
      case 'E_SOAK_TASK':
        return record.kind === 'failing' ? undefined : `E_SOAK_TASK from a ${record.kind} task`;
      default:
        return `an unexpected error: ${String(error)} (code ${String(code)})`;
    }
  };

  const settle = (i: number, outcome: string, problem?: string): void => {
    const record = records[i];
    record.settlements++;
    if (record.settlements > 1) {
      problems.push(`task ${i} settled ${record.settlements} times (now ${outcome}, before ${record.outcome})`);
      return;
    }
    record.outcome = outcome;
    record.problem = problem;
    const { callbacks } = record;
    if (callbacks !== undefined && (outcome === 'succeeded' ? callbacks.callback : callbacks.errorCallback) !== 1) {
      record.problem ??= `get() settled before its ${outcome === 'succeeded' ? 'callback' : 'errorCallback'} was called`;
    }
    driver.settled();
  };

  const submitOne = (i: number): void => {
    const roll = random() * 100;
    let sum = 0;
    const kind = MIX.find(([, weight]) => (sum += weight) > roll)?.[0] ?? 'normal';
    const record: TaskRecord = { kind, pool: current, abortFired: false, settlements: 0 };
    records[i] = record;
    const ms = Math.floor(random() * 40) + 1;
    const args: unknown[] =
      kind === 'slow' || kind === 'spin' ? [i, ms] : kind === 'failing' ? [i, random() < 0.3] : kind === 'hostileArgument' ? [i, { callback: () => i }] : [i];
    const callOptions: { timeout?: number; signal?: AbortSignal } = {};
    // One task in twenty has a timeout, as often shorter as longer than it runs; one in fifty is aborted at
    // some point, before it starts or while it runs. (Each that catches its task running costs a child.)
    if (random() < 0.05) callOptions.timeout = record.timeout = Math.floor(random() * 2 * ms) + 1;
    if (random() < 0.02) {
      const controller = new AbortController();
      const reason = Object.assign(new Error(`task ${i} aborted by the soak`), { code: 'E_SOAK_ABORT' });
      record.abortReason = reason;
      callOptions.signal = controller.signal;
      later(random() * 2 * ms, () => {
        record.abortFired = true;
        abortsFired++;
        controller.abort(reason);
      });
    }
    // Some go through applyAsync, whose callbacks must be called once, the right one, before get() settles.
    let call: Promise<unknown>;
    if (random() < 0.3) {
      const counts = (record.callbacks = { callback: 0, errorCallback: 0 });
      const callbacks = { callback: () => counts.callback++, errorCallback: () => counts.errorCallback++ };
      call = current.pool.applyAsync(kind, args as never, { ...callOptions, ...callbacks }).get();
    } else {
      call = current.pool.apply(kind, args as never, callOptions);
    }
    call.then(
      (value: unknown) => {
        const [result, pid] = value as [number, number];
        if (typeof pid === 'number' && !record.pool.terminated) answered.add(pid);
        const right = Array.isArray(value) && result === expected(i) && kind !== 'failing' && kind !== 'hostileResult' && kind !== 'hostileArgument';
        settle(i, 'succeeded', right ? undefined : `resolved with a wrong value for a ${kind} task`);
      },
      (error: unknown) => {
        const problem = judgeFailure(record, error);
        if (error instanceof BrokenPoolError) record.brokenPid = error.pid;
        const outcome = record.abortReason !== undefined && error === record.abortReason ? 'E_SOAK_ABORT' : codeOf(error);
        // Its own error must be its own: the message names the input.
        const mixedUp = outcome === 'E_SOAK_TASK' && (error as Error).message !== `task ${i} failed`;
        settle(i, outcome, problem ?? (mixedUp ? `another task's error: ${(error as Error).message}` : undefined));
      },
    );
  };

  const driver = new TaskDriver({
    tasks,
    inFlight,
    stallMs,
    start(i) {
      submitOne(i);
      if (i + 1 >= terminateAt) {
        terminate();
        terminateAt += terminateEvery * (0.5 + random());
      }
    },
    progress:
      log === undefined
        ? undefined
        : { every: 10_000, log: (settled) => log(`${settled} of ${tasks} settled, ${kills} kills, ${terminates} terminates, ${seen.size} children so far`) },
  });
  await driver.run();
  const { stalled } = driver;

  finished = true;
  for (const timer of timers) clearTimeout(timer);
  // The last pool finishes its work; those terminated along the way are joined too.
  if (stalled) current.pool.terminate();
  else current.pool.close();
  current.joined = joinOf(current);
  const joins = await Promise.race([
    Promise.all(pools.map((record) => record.joined!)).then(() => 'joined' as const),
    new Promise<'hung'>((resolve) => setTimeout(resolve, 30_000, 'hung').unref()),
  ]);
  if (joins === 'hung') {
    problems.push('join() did not resolve within 30 s for every pool');
    for (const { pool } of pools) pool.terminate();
  }
  clearInterval(sampler);
  sample();

  // Which inputs ran, and how often.
  const runs = new Uint16Array(tasks);
  const ranOn = new Int32Array(tasks);
  for (const line of fs.existsSync(runsFile) ? fs.readFileSync(runsFile, 'utf8').split('\n') : []) {
    if (line === '') continue;
    const [input, pid] = line.split(' ').map(Number);
    seen.add(pid);
    if (runs[input] < 65535) runs[input]++;
    ranOn[input] = pid;
  }
  fs.rmSync(dir, { recursive: true, force: true });

  const outcomes: Record<string, number> = {};
  const kinds: Record<string, number> = {};
  let timeoutsSet = 0;
  let ranNever = 0;
  let ranOnce = 0;
  let ranTwice = 0;
  const samples = new Map<string, string[]>();
  const problem = (what: string, example: string): void => {
    const list = samples.get(what) ?? [];
    list.push(example);
    samples.set(what, list);
  };
  for (let i = 0; i < tasks; i++) {
    const record = records[i];
    if (record === undefined) continue;
    kinds[record.kind] = (kinds[record.kind] ?? 0) + 1;
    if (record.timeout !== undefined) timeoutsSet++;
    const outcome = record.outcome ?? 'unsettled';
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (record.problem !== undefined) problem(record.problem.replace(/\d+/g, 'N'), `task ${i}: ${record.problem}`);
    if (runs[i] === 0) ranNever++;
    else if (runs[i] === 1) ranOnce++;
    else {
      ranTwice++;
      problem('ran more than once', `task ${i} (${record.kind}, ${outcome}) ran ${runs[i]} times`);
    }
    // What must have run exactly once: a success, and a task's own error.
    const mustHaveRun = (outcome === 'succeeded' || outcome === 'E_SOAK_TASK') && record.kind !== 'hostileArgument';
    if (mustHaveRun && runs[i] !== 1) problem('ended as if it ran, but did not run once', `task ${i} (${record.kind}, ${outcome}) ran ${runs[i]} times`);
    if (record.kind === 'hostileArgument' && runs[i] !== 0) problem('ran though its argument cannot be sent', `task ${i}`);
    if (record.callbacks !== undefined && record.callbacks.callback + record.callbacks.errorCallback !== 1) {
      problem('callbacks not called exactly once', `task ${i} (${outcome}): ${JSON.stringify(record.callbacks)}`);
    }
    // A killed child takes with it only what it had begun ("Blame"): a task failed for a kill ran there, if
    // it ran at all (it may have been killed before it could write its line).
    if (record.brokenPid !== undefined && runs[i] === 1 && ranOn[i] !== record.brokenPid) {
      problem('failed for the death of a child it did not run on', `task ${i} (${record.kind}) ran on ${ranOn[i]}, failed for ${record.brokenPid}`);
    }
  }
  for (const [what, examples] of samples) problems.push(`${examples.length} × ${what}; e.g. ${examples.slice(0, 3).join('; ')}`);
  if (stalled) problems.push(`stalled: no task settled for ${stallMs} ms, ${outcomes.unsettled ?? 0} never settled`);
  for (const { pool, terminated } of pools) if (pool.broken) problems.push(`a pool broke, though onWorkerCrash is 'respawn' (terminated: ${terminated})`);

  const survivors = [...seen].filter((pid) => isAlive(pid) && parentOf(pid) === process.pid);
  if (survivors.length > 0) problems.push(`children alive after join(): ${survivors.join(' ')}`);
  return {
    tasks,
    outcomes,
    kinds,
    kills,
    timeoutsSet,
    timedOut: outcomes.ERR_POOL_TIMEOUT ?? 0,
    abortsFired,
    aborted: outcomes.E_SOAK_ABORT ?? 0,
    terminates,
    pools: pools.length,
    childrenSeen: seen.size,
    ranNever,
    ranOnce,
    ranTwice,
    survivors,
    stalled,
    ms: Date.now() - started,
    problems,
  };
}
