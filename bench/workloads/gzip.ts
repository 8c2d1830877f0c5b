/**
 * The real workload: gzip (level 9) every file under a directory of node_modules, one call per file, the
 * largest files first (so that no pool is left finishing one big file alone at the end). Milliseconds; the
 * report divides the serial time by it. The total compressed size must match the serial run's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { now, warmUp, withPool } from './common';
import type { Workload } from './types';

export function gzipInputs(dir: string, maxFileBytes: number | null): { file: string; size: number }[] {
  const files = (fs.readdirSync(dir, { recursive: true }) as string[])
    .map((name) => path.join(dir, name))
    .flatMap((file) => {
      const stat = fs.statSync(file);
      return stat.isFile() && (maxFileBytes === null || stat.size <= maxFileBytes) ? [{ file, size: stat.size }] : [];
    });
  return files.sort((a, b) => b.size - a.size || a.file.localeCompare(b.file));
}

export const gzipFiles: Workload = {
  async run(peer, { sizes, gzipDir }) {
    const inputs = gzipInputs(gzipDir, sizes.gzipMaxFileBytes);
    return withPool(peer.create(sizes.workers, 'default'), async (pool) => {
      await warmUp(pool, sizes.workers);
      const start = now();
      const compressed = await Promise.all(inputs.map(({ file }) => pool.call('gzipFile', file)));
      const end = now();
      const total = compressed.reduce<number>((sum, bytes) => sum + (bytes as number), 0);
      return { value: end - start, phases: { total: end - start }, check: total };
    });
  },
};
