/**
 * Timers of any length (scheduler/timer.ts): Node's own setTimeout fires after 1 ms when asked for 2^31 ms or
 * more; a 30-day timeout must mean 30 days.
 */
import { startTimer } from '../src/scheduler/timer';

beforeEach(() => jest.useFakeTimers({ now: 0 }));
afterEach(() => jest.useRealTimers());

const DAY = 24 * 60 * 60 * 1000;

test.each([2 ** 31 - 1, 2 ** 31, 30 * DAY, 400 * DAY])('%d ms fires then, and not a millisecond before', (ms) => {
  const fired = jest.fn();
  startTimer(ms, fired);
  jest.advanceTimersByTime(ms - 1);
  expect(fired).not.toHaveBeenCalled();
  jest.advanceTimersByTime(1);
  expect(fired).toHaveBeenCalledTimes(1);
});

test('cancel() stops it, however many segments it has left', () => {
  const fired = jest.fn();
  const timer = startTimer(100 * DAY, fired);
  jest.advanceTimersByTime(50 * DAY);
  timer.cancel();
  jest.advanceTimersByTime(100 * DAY);
  expect(fired).not.toHaveBeenCalled();
  expect(jest.getTimerCount()).toBe(0);
});

test('Infinity never fires and leaves no timer', () => {
  const fired = jest.fn();
  startTimer(Infinity, fired);
  expect(jest.getTimerCount()).toBe(0);
});
