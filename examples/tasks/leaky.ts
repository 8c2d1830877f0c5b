/**
 * Task module for examples/recycling.ts: a task that leaks. Every call keeps a buffer in a module-level
 * array that nothing ever empties, so a child's memory grows with every task it runs.
 */

const LEAK_MB = 8;
const leaked: Buffer[] = [];

export interface LeakReport {
  pid: number;
  /** Memory this child has leaked so far. */
  leakedMb: number;
  /** The child's resident memory. */
  rssMb: number;
}

export function leakyTask(_item: number): LeakReport {
  // Filled, not just allocated, so the pages are really used and show in the resident memory.
  leaked.push(Buffer.alloc(LEAK_MB * 1024 * 1024, 1));
  return {
    pid: process.pid,
    leakedMb: leaked.length * LEAK_MB,
    rssMb: Math.round(process.memoryUsage().rss / (1024 * 1024)),
  };
}
