/**
 * Exit when the parent dies, even while the main thread is stuck in a synchronous loop, where no guard
 * in the parent's pool does it (see src/orphan-guard.ts).
 *
 * An idle child learns of it from the IPC channel's `disconnect`, but a busy one never runs that handler.
 * A small thread polls the parent's pid instead: once the parent is gone the child is re-parented (to init
 * or a subreaper) and `process.ppid` changes, and the thread kills its own process.
 */

const POLL_INTERVAL_MS = 100;

let watching = false;

export function watchParent(): void {
  if (watching) return;
  watching = true;
  const parentPid = process.ppid;
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  const watcher = new Worker(
    `const parent = ${parentPid};
     setInterval(() => { if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL'); }, ${POLL_INTERVAL_MS});`,
    { eval: true },
  );
  // The watcher must never keep the child alive, nor its failure take the child down.
  watcher.unref();
  watcher.on('error', () => {});
}
