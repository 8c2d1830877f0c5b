/**
 * A, one call each: `tinyCalls` calls of a task that does nothing, all made at once, as a user with many
 * small jobs and no map would make them. Tasks per second, from the first call to the last result; the
 * time spent making the calls is reported apart ("submit").
 *
 * A-emit is the same with a task that sends one event (forkpool's emit()) before it returns: next to A, it
 * shows what an event costs.
 */
import { MemoryProbe } from '../memory';
import type { NodePeer } from '../peers/types';
import type { MeasureSpec, Measurement } from '../types';
import { now, seconds, warmUp, withPool } from './common';
import type { Workload } from './types';

export const tinyCalls: Workload = { run: (peer, spec) => runTinyCalls(peer, spec, 'tiny') };
export const tinyEmittingCalls: Workload = { run: (peer, spec) => runTinyCalls(peer, spec, 'tinyEmit') };

async function runTinyCalls(peer: NodePeer, { sizes }: MeasureSpec, task: 'tiny' | 'tinyEmit'): Promise<Measurement> {
  const probe = new MemoryProbe();
  probe.begin();
  return withPool(peer.create(sizes.workers, 'default'), async (pool) => {
    await warmUp(pool, sizes.workers);
    const n = sizes.tinyCalls;
    let sum = 0;
    const add = (result: unknown) => {
      sum += result as number;
    };
    const calls = new Array<Promise<void>>(n);
    // The parent's own CPU over the calls: on tiny tasks it is the ceiling, so the report shows it per call.
    const cpuBefore = process.cpuUsage();
    const start = now();
    for (let i = 0; i < n; i++) calls[i] = pool.call(task, i).then(add);
    const submitted = now();
    await Promise.all(calls);
    const end = now();
    const cpu = process.cpuUsage(cpuBefore);
    const memory = probe.end();
    if (sum !== (n * (n + 1)) / 2) throw new Error(`Wrong results: their sum is ${sum}.`);
    return { value: n / seconds(start, end), phases: { submit: submitted - start, total: end - start, 'parent CPU': (cpu.user + cpu.system) / 1000 }, memory };
  });
}
