/**
 * SharedMemory: blur a large image across the children, each writing its band of rows straight into one
 * shared output block, with no copy of either image going through the pipe; then a histogram of the result
 * from the same block. Checked against the same blur in this process.
 *
 *   npx ts-node examples/shared-memory.ts [side]    # a side × side image, 4096 by default
 */
import path from 'node:path';
import { Pool, SharedMemory } from '../src';

const side = Number(process.argv[2] ?? 4096);
const RADIUS = 2;
const TASKS = path.join(__dirname, 'tasks', 'image.js');
const tasks = require(TASKS) as typeof import('./tasks/image');

/** A synthetic photograph: gradients and a few bright discs. */
function paint(pixels: Uint8Array, width: number, height: number): void {
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const disc = Math.hypot((x % 256) - 128, (y % 256) - 128) < 40 ? 120 : 0;
      pixels[y * width + x] = Math.min(255, ((x + y) * 255) / (width + height) + disc);
    }
  }
}

/** Bands of rows, a few per child, so that the children pull them as they go. */
function bands(height: number, count: number): Array<[number, number]> {
  const size = Math.ceil(height / count);
  return Array.from({ length: Math.ceil(height / size) }, (_, i) => [i * size, Math.min(height, (i + 1) * size)]);
}

async function main(): Promise<void> {
  const [width, height] = [side, side];
  // Closed at the end of the function: `using` calls close().
  using source = SharedMemory.create(width * height);
  using target = SharedMemory.create(width * height);
  paint(new Uint8Array(source.buffer), width, height);
  console.log(`A ${width}×${height} image (${(source.size / 2 ** 20).toFixed(0)} MiB) in SharedMemory, shared: ${source.shared}`);

  const pool = new Pool({ module: TASKS });
  const rows = bands(height, pool.processes * 8);
  let started = performance.now();
  await pool.map('blurRows', rows.map(([from, to]) => ({ source, target, width, height, from, to, radius: RADIUS })), { chunksize: 1 });
  const pooledMs = performance.now() - started;

  const levels: number[][] = await pool.map('histogram', rows.map(([from, to]) => ({ image: target, width, from, to })), { chunksize: 1 });
  const histogram = levels.reduce((total: number[], counts: number[]) => total.map((n, i) => n + counts[i]));
  pool.close();
  await pool.join();

  // The same blur here, into a plain array: the pool's result must be the same, byte for byte.
  const expected = new Uint8Array(width * height);
  started = performance.now();
  tasks.blurRows({ source, target: { buffer: expected.buffer }, width, height, from: 0, to: height, radius: RADIUS });
  const serialMs = performance.now() - started;
  const same = Buffer.compare(Buffer.from(target.buffer), Buffer.from(expected.buffer)) === 0;

  const brightest = histogram.findLastIndex((count) => count > 0);
  console.log(`blurred by ${rows.length} tasks on ${pool.processes} processes in ${(pooledMs / 1000).toFixed(2)} s; in this process alone: ${(serialMs / 1000).toFixed(2)} s`);
  console.log(`the same pixels as the blur in this process: ${same}`);
  console.log(`histogram: ${histogram.reduce((a, b) => a + b)} pixels, the brightest level ${brightest}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
