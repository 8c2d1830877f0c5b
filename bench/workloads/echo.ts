/**
 * C: `echoes` round trips of the same Buffer of `echoBytes`, all submitted at once; each result is checked
 * and dropped as it comes. MiB per second of payload echoed (each MiB crosses the pipe twice).
 */
import { MemoryProbe } from '../memory';
import { now, seconds, warmUp, withPool } from './common';
import type { Workload } from './types';

const MiB = 1024 * 1024;

export const echoes: Workload = {
  async run(peer, { sizes }) {
    const probe = new MemoryProbe();
    probe.begin();
    return withPool(peer.create(sizes.workers, 'advanced'), async (pool) => {
      await warmUp(pool, sizes.workers);
      const buffer = Buffer.alloc(sizes.echoBytes);
      for (let i = 0; i < buffer.length; i++) buffer[i] = i % 251;
      let wrong = 0;
      const check = (result: unknown) => {
        const bytes = result as Uint8Array;
        if (bytes?.byteLength !== buffer.length || bytes[1000] !== buffer[1000]) wrong++;
      };
      const start = now();
      const calls = Array.from({ length: sizes.echoes }, () => pool.call('echo', buffer).then(check));
      const submitted = now();
      await Promise.all(calls);
      const end = now();
      const memory = probe.end();
      if (wrong > 0) throw new Error(`${wrong} echoes came back altered.`);
      const mib = (sizes.echoes * sizes.echoBytes) / MiB;
      return { value: mib / seconds(start, end), phases: { submit: submitted - start, total: end - start }, memory };
    });
  },
};
