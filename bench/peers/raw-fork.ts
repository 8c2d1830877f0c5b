/**
 * The baseline: children forked by hand, calls pushed round-robin the moment they are made, with no queue,
 * no scheduling and no error handling. What fork() + process.send cost at the least: over fork's default
 * JSON channel, which is the faster one for small messages, and over the advanced one for Buffers.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { RAW_CHILD, childEnv } from '../paths';
import type { NodePeer } from './types';

export const peer: NodePeer = {
  create(workers, channel) {
    const children: ChildProcess[] = [];
    const pending = new Map<number, (result: unknown) => void>();
    let nextId = 0;
    for (let i = 0; i < workers; i++) {
      const child = fork(RAW_CHILD, [], { env: childEnv(), serialization: channel === 'advanced' ? 'advanced' : 'json' });
      child.on('message', ([id, result]: [number, unknown]) => {
        pending.get(id)!(result);
        pending.delete(id);
      });
      children.push(child);
    }
    return {
      call(task, arg) {
        return new Promise((resolve) => {
          const id = nextId++;
          pending.set(id, resolve);
          children[id % children.length].send([id, task, arg]);
        });
      },
      async close() {
        // With the channel closed, a child has nothing left to wait for and exits.
        await Promise.all(
          children.map((child) => {
            if (child.exitCode !== null || child.signalCode !== null) return undefined;
            const exited = new Promise((resolve) => child.once('exit', resolve));
            child.disconnect();
            return exited;
          }),
        );
      },
    };
  },
};
