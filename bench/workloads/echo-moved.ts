/**
 * C-move: C with the Buffer's memory moved rather than copied, each way (a pool of threads and a transfer
 * list). A moved buffer is gone from the sender, so each of `2 × workers` buffers of `echoBytes` goes out and
 * comes back, then goes out again, until `echoes` round trips are done. MiB per second of payload echoed.
 */
import { MemoryProbe } from '../memory';
import { now, seconds, warmUp, withPool } from './common';
import type { Workload } from './types';

const MiB = 1024 * 1024;

export const movedEchoes: Workload = {
  async run(peer, { sizes }) {
    const probe = new MemoryProbe();
    probe.begin();
    return withPool(peer.create(sizes.workers, 'advanced'), async (pool) => {
      const move = pool.move;
      if (move === undefined) throw new Error('This pool cannot move buffers.');
      await warmUp(pool, sizes.workers);
      let sent = 0;
      let wrong = 0;
      const cycle = async (buffer: ArrayBuffer): Promise<void> => {
        while (sent < sizes.echoes) {
          sent++;
          const marker = new Uint8Array(buffer)[1000];
          buffer = await move.call(pool, buffer);
          if (buffer?.byteLength !== sizes.echoBytes || new Uint8Array(buffer)[1000] !== marker) wrong++;
        }
      };
      const buffers = Array.from({ length: 2 * sizes.workers }, (_, n) => {
        const bytes = new Uint8Array(sizes.echoBytes);
        for (let i = 0; i < bytes.length; i++) bytes[i] = (i + n) % 251;
        return bytes.buffer;
      });
      const start = now();
      await Promise.all(buffers.map(cycle));
      const end = now();
      const memory = probe.end();
      if (wrong > 0) throw new Error(`${wrong} moved echoes came back altered.`);
      const mib = (sizes.echoes * sizes.echoBytes) / MiB;
      return { value: mib / seconds(start, end), phases: { total: end - start }, memory };
    });
  },
};
