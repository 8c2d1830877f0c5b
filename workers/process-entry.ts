/**
 * The script every child process runs (`forkpool/child`, dist/child.cjs): the pull loop over the IPC channel
 * to the parent, the progress page at descriptor CHILD_PAGE_FD, and what a process has that a thread has
 * not: signals, and a parent that can die.
 */
import { CHILD_PAGE_FD, PageClaimer } from '../src/shared/progress-page';
import { outOfBandAvailable } from '../src/shared/value-codec';
import { watchParent } from './orphan-watch';
import { die, runWorker } from './pull-loop';

/** Taken at start-up: a task that replaces process.send cannot take the pool's channel with it. */
const sendToParent = process.send?.bind(process);

if (sendToParent === undefined) {
  console.error('forkpool: this script is started by a Pool through child_process.fork, not by hand.');
  process.exit(1);
}

process.on('uncaughtException', die);
// A Ctrl-C reaches the whole process group; the parent decides what it means for its children.
process.on('SIGINT', () => {});
// An idle child sees its parent go; a busy one is killed by the pool's OrphanGuard (or watchParent()).
process.once('disconnect', () => process.exit(0));
// A send that fails because the parent is gone surfaces here; the 'disconnect' handler ends the child.
process.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_IPC_CHANNEL_CLOSED') throw error;
});

runWorker({
  send: (message, done) => sendToParent!(message, undefined, undefined, done),
  claimer: () => new PageClaimer(CHILD_PAGE_FD),
  watchParent,
  onMessage: (handler) => process.on('message', handler),
  outOfBand: outOfBandAvailable(),
});
