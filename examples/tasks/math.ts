/**
 * Task module for the quick start. Every function export is a task a pool can run by name.
 */

export function square(x: number): number {
  return x * x;
}

/** Naive recursive Fibonacci: slow on purpose, a stand-in for real CPU work. */
export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/** Async tasks work too: the child awaits the promise and sends back its value. */
export async function slowSquare(x: number, ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return x * x;
}
