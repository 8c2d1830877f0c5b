/**
 * Timers for any positive number of milliseconds. Node's own fire after 1 ms when asked for 2^31 ms or more
 * (about 24.8 days), so a longer wait is made of several shorter ones.
 */

/** The longest delay setTimeout honours. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface Timer {
  cancel(): void;
}

/**
 * Call `fn` once `ms` have passed, unless cancelled first. `Infinity` never fires. `keepsAlive`: false for a
 * timer that must not keep the process running by itself.
 */
export function startTimer(ms: number, fn: () => void, keepsAlive = true): Timer {
  let handle: NodeJS.Timeout | undefined;
  const deadline = Date.now() + ms;
  const arm = (left: number) => {
    handle = setTimeout(() => {
      const rest = deadline - Date.now();
      if (rest > 0 && left === MAX_DELAY_MS) arm(Math.min(rest, MAX_DELAY_MS));
      else fn();
    }, left);
    if (!keepsAlive) handle.unref();
  };
  if (ms !== Infinity) arm(Math.min(ms, MAX_DELAY_MS));
  return { cancel: () => clearTimeout(handle) };
}
