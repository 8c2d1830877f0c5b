/**
 * The fault soak at test size: 1,200 tasks (FORKPOOL_FAULT_SOAK_TASKS sets it; `npm run test:slow` runs
 * 20,000, `npm run soak:faults` 100,000) through pools whose children are SIGKILLed about every 200 ms and
 * which are terminated about once in 300 tasks, with random timeouts, aborts, failures and values that
 * cannot be sent.
 */
import { expectNoChildrenLeft } from './faults-helpers';
import { runFaultSoak } from './soak/fault-soak';

const TASKS = Number(process.env.FORKPOOL_FAULT_SOAK_TASKS ?? 1200);

afterAll(expectNoChildrenLeft);

test(`${TASKS} tasks through pools killed, timed out, aborted and terminated at random: each settles once, as it could`, async () => {
  const report = await runFaultSoak({ tasks: TASKS, killEveryMs: 200, terminateEvery: 300 });
  expect(report.problems).toEqual([]);
  expect(Object.values(report.outcomes).reduce((sum, n) => sum + n, 0)).toBe(TASKS);
  expect(report.ranTwice).toBe(0);
  expect(report.survivors).toEqual([]);
  // The faults did happen: children were killed, pools terminated, tasks aborted and given timeouts, and
  // tasks failed for what they are.
  expect(report.kills).toBeGreaterThan(0);
  expect(report.terminates).toBeGreaterThan(0);
  expect(report.abortsFired).toBeGreaterThan(0);
  expect(report.timeoutsSet).toBeGreaterThan(0);
  expect(report.outcomes.succeeded).toBeGreaterThan(0);
  expect(report.outcomes.ERR_POOL_UNSENDABLE).toBeGreaterThan(0);
  expect(report.outcomes.E_SOAK_TASK).toBeGreaterThan(0);
}, Math.max(120_000, TASKS * 30));
