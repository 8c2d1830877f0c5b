/**
 * The exit policy as a pure function: which tasks fail, which run elsewhere, whether the pool breaks.
 */
import { MAX_START_FAILURES, decideExit, type ExitFacts } from '../src/scheduler/exit-policy';

const facts = (overrides: Partial<ExitFacts<string>>): ExitFacts<string> => ({
  stopReason: undefined,
  answeredOne: true,
  held: [],
  onWorkerCrash: 'respawn',
  startFailures: 0,
  ...overrides,
});

/** A child's line: the running task, one finished but not reported, two not begun, and one already settled. */
const HELD = [
  { task: 'finished-unsent', started: true, done: false },
  { task: 'running', started: true, done: false },
  { task: 'next', started: false, done: false },
  { task: 'later', started: false, done: false },
  { task: 'cancelled', started: false, done: true },
];

describe('a crash', () => {
  test("with 'respawn': what it began fails, what it had not begun runs elsewhere, the pool goes on", () => {
    expect(decideExit(facts({ held: HELD }))).toEqual({
      reason: 'crashed',
      fail: ['finished-unsent', 'running'],
      requeue: ['next', 'later'],
      breakPool: false,
      startFailures: 0,
    });
  });

  test('a task not begun whose buffers moved to the worker fails with it: they cannot reach another', () => {
    const held = [...HELD.slice(0, 2), { ...HELD[2], moved: true }, ...HELD.slice(3)];
    expect(decideExit(facts({ held }))).toMatchObject({ fail: ['finished-unsent', 'running', 'next'], requeue: ['later'] });
    expect(decideExit(facts({ held, stopReason: 'timeout' }))).toMatchObject({ fail: ['finished-unsent', 'running', 'next'], requeue: ['later'] });
  });

  test("with 'break': everything it held fails and the pool breaks", () => {
    const decision = decideExit(facts({ held: HELD, onWorkerCrash: 'break' }));
    expect(decision.fail).toEqual(['finished-unsent', 'running', 'next', 'later']);
    expect(decision.requeue).toEqual([]);
    expect(decision.breakPool).toBe(true);
  });

  test('a settled task is neither failed nor requeued', () => {
    const decision = decideExit(facts({ held: [{ task: 'x', started: true, done: true }] }));
    expect(decision.fail).toEqual([]);
    expect(decision.requeue).toEqual([]);
  });
});

describe('failed starts', () => {
  test('a child that dies before answering a first task counts, whatever killed it', () => {
    expect(decideExit(facts({ answeredOne: false })).startFailures).toBe(1);
    expect(decideExit(facts({ answeredOne: true, startFailures: 1 })).startFailures).toBe(1);
  });

  test(`${MAX_START_FAILURES} in a row break a 'respawn' pool, and what the child held fails`, () => {
    const below = decideExit(facts({ answeredOne: false, startFailures: MAX_START_FAILURES - 2, held: HELD }));
    expect(below.breakPool).toBe(false);
    const at = decideExit(facts({ answeredOne: false, startFailures: MAX_START_FAILURES - 1, held: HELD }));
    expect(at.breakPool).toBe(true);
    expect(at.startFailures).toBe(MAX_START_FAILURES);
    expect(at.requeue).toEqual([]);
    expect(at.fail).toEqual(['finished-unsent', 'running', 'next', 'later']);
  });
});

describe('exits the pool asked for', () => {
  test.each([
    ['timeout', 'timeout'],
    ['abort', 'aborted'],
  ] as const)('%s: not a crash; a task begun behind the stopped one fails, the rest runs elsewhere', (stopReason, reason) => {
    const decision = decideExit(facts({ stopReason, answeredOne: false, held: HELD, onWorkerCrash: 'break' }));
    expect(decision).toEqual({ reason, fail: ['finished-unsent', 'running'], requeue: ['next', 'later'], breakPool: false, startFailures: 0 });
  });

  test.each([
    ['recycle', 'recycled'],
    ['idle', 'idle'],
    ['close', 'closed'],
    ['terminate', 'terminated'],
    ['break', 'broken'],
  ] as const)('%s is reported as %s and never breaks the pool', (stopReason, reason) => {
    const decision = decideExit(facts({ stopReason, answeredOne: false, onWorkerCrash: 'break' }));
    expect(decision.reason).toBe(reason);
    expect(decision.breakPool).toBe(false);
    expect(decision.startFailures).toBe(0);
  });
});
