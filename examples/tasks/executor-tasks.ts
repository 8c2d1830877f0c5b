/**
 * Task module for examples/executor.ts. Every function export is a task the executor can run by name.
 */

export interface Download {
  name: string;
  bytes: number;
  pid: number;
}

/** Steps of the Collatz sequence from `n` down to 1: a small piece of CPU work. */
export function collatzSteps(n: number): number {
  let steps = 0;
  for (let x = n; x !== 1; steps++) x = x % 2 === 0 ? x / 2 : 3 * x + 1;
  return steps;
}

/** Stands in for a slow download: waits `ms`, then reports a made-up size and the child that did it. */
export async function fakeDownload(name: string, ms: number): Promise<Download> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { name, bytes: name.length * 1000 + ms, pid: process.pid };
}

/** A job that takes `ms` and returns its id. */
export async function slowJob(id: number, ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return id;
}

/** Throws a SyntaxError for anything that is not JSON: the error comes back to the parent as itself. */
export function parseRecord(text: string): unknown {
  return JSON.parse(text);
}
