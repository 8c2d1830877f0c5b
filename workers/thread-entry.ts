/**
 * The script every worker thread runs (dist/thread.cjs): the pull loop over the thread's port to the pool,
 * the progress page in the SharedArrayBuffer it was handed (`workerData.page`), and nothing of what a process
 * needs besides: no signals, and no parent to outlive (a thread dies with its process).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SharedPageClaimer } from '../src/shared/shared-page';
import type { ThreadData } from '../src/transports/thread/thread-transport';
import { die, runWorker } from './pull-loop';

/** Taken at start-up: a task that replaces parentPort.postMessage cannot take the pool's channel with it. */
const port = isMainThread ? null : parentPort;
const post = port?.postMessage.bind(port);

if (port === null || post === undefined) {
  console.error('forkpool: this script is started by a ThreadPool as a worker thread, not by hand.');
  process.exit(1);
}

// In a worker thread too, an error no task catches reaches this handler, and the thread does not end
// until it says so: die() tells the pool why, then exits.
process.on('uncaughtException', die);

runWorker({
  send: (message, done, transfer) => {
    post!(message, transfer);
    // A message posted is the pool's as it stands: nothing to wait for.
    done?.();
  },
  claimer: () => new SharedPageClaimer((workerData as ThreadData).page),
  watchParent: () => {},
  onMessage: (handler) => port!.on('message', handler),
  outOfBand: false,
  buffersAsBytes: true,
});
