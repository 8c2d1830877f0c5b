/**
 * How many chunks of a call go into one cluster job: pure logic, no Redis.
 */
import { MAX_PACK, PACK_MS, PACK_RESULT_BYTES, PackSizes } from '../src/cluster/pack-sizes';

test('a function nothing is known of goes one chunk to a job', () => {
  expect(new PackSizes().next('f', 1000, 2)).toEqual([1, 1]);
});

test('a full pack holds what a host runs in PACK_MS, by what the last jobs took per chunk', () => {
  const sizes = new PackSizes();
  // 4 chunks in 2 ms: 0.5 ms each.
  sizes.learn('f', 4, 2, 0);
  expect(sizes.next('f', 1000, 2)).toEqual([PACK_MS / 0.5, PACK_MS / 0.5]);
  // Another function is its own.
  expect(sizes.next('g', 1000, 2)).toEqual([1, 1]);
});

test('quick chunks fill a pack up to MAX_PACK; chunks as long as PACK_MS go one to a job', () => {
  const sizes = new PackSizes();
  sizes.learn('quick', 10, 0.1, 0);
  sizes.learn('slow', 1, PACK_MS * 2, 0);
  expect(sizes.next('quick', 10_000, 2)).toEqual([MAX_PACK, MAX_PACK]);
  expect(sizes.next('slow', 10_000, 2)).toEqual([1, 1]);
});

test('chunks whose results are large fill a pack only up to PACK_RESULT_BYTES of them', () => {
  const sizes = new PackSizes();
  sizes.learn('big', 4, 0.4, 4 * 2 ** 20); // quick, but 1 MiB of results a chunk
  expect(sizes.next('big', 1000, 2)).toEqual([PACK_RESULT_BYTES / 2 ** 20, PACK_RESULT_BYTES / 2 ** 20]);
  sizes.learn('huge', 1, 0.1, PACK_RESULT_BYTES * 2);
  expect(sizes.next('huge', 1000, 2)).toEqual([1, 1]);
});

test("the last packs of a call are each process's share of what waits, down to a quarter of a full pack", () => {
  const sizes = new PackSizes();
  sizes.learn('f', 100, 20, 0); // 0.2 ms a chunk: full packs of 100
  expect(sizes.next('f', 1000, 2)).toEqual([100, 100]);
  expect(sizes.next('f', 120, 2)).toEqual([60, 100]);
  expect(sizes.next('f', 30, 2)).toEqual([25, 100]);
  expect(sizes.next('f', 3, 2)).toEqual([25, 100]);
});

test('what a function takes per chunk leans to the newest jobs', () => {
  const sizes = new PackSizes();
  sizes.learn('f', 1, 2, 0); // 2 ms a chunk: full packs of 10
  expect(sizes.next('f', 1000, 1)[1]).toBe(10);
  for (let i = 0; i < 20; i++) sizes.learn('f', 10, 2, 0); // then 0.2 ms a chunk
  expect(sizes.next('f', 1000, 1)[1]).toBeGreaterThanOrEqual(95);
  expect(sizes.next('f', 1000, 1)[1]).toBeLessThanOrEqual(100);
});

test('the functions learned longest ago are forgotten past a thousand (inline sources made on the fly)', () => {
  const sizes = new PackSizes();
  for (let i = 0; i <= 1000; i++) sizes.learn(`f${i}`, 1, 0.5, 0);
  expect(sizes.next('f0', 1000, 1)).toEqual([1, 1]);
  expect(sizes.next('f1', 1000, 1)).toEqual([40, 40]);
  expect(sizes.next('f1000', 1000, 1)).toEqual([40, 40]);
});
