/**
 * The soak at test size: 20,000 tasks, children recycled every 100 tasks and one SIGKILLed about every
 * 200 ms. `npm run soak` runs the same at 1,000,000.
 */
import { expectNoChildrenLeft } from '../faults-helpers';
import { runSoak } from '../soak/soak';

afterAll(expectNoChildrenLeft);

test('20,000 tasks through a pool whose children are killed at random: each accounted for once', async () => {
  const report = await runSoak({ tasks: 20_000, killEveryMs: 200 });
  expect(report.problems).toEqual([]);
  expect(report.succeeded + report.broken).toBe(20_000);
  expect(report.succeeded).toBeGreaterThan(0);
  expect(report.survivors).toEqual([]);
  // More children than the pool's two: recycling and kills both replaced some.
  expect(report.childrenSeen).toBeGreaterThan(2);
}, 300_000);
