/**
 * A long job with a progress bar fed by the tasks themselves: each task calls `emit()` (from
 * `forkpool/task`) as it gets through its steps, and the call's `onEvent` adds the events up. On a
 * terminal the bar redraws in place; written to a file or a pipe, the example prints plain lines.
 *
 *   npx ts-node examples/progress.ts
 */
import cliProgress from 'cli-progress';
import path from 'node:path';
import { Pool } from '../src';
import type { StepEvent } from './tasks/thumbnails';

const FILES = Array.from({ length: 12 }, (_, i) => `photo-${String(i + 1).padStart(2, '0')}.jpg`);

async function main(): Promise<void> {
  const pool = new Pool<typeof import('./tasks/thumbnails')>({ processes: 2, module: path.join(__dirname, 'tasks', 'thumbnails.ts') });
  // How far each file has got: the bar shows their sum.
  const progress = new Map<string, number>();
  const tty = process.stdout.isTTY === true;
  const bar = tty ? new cliProgress.SingleBar({ format: '  [{bar}] {percentage}% | {value}/{total} files | {current}' }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(FILES.length, 0, { current: '' });
  let lastQuarter = 0;
  const onEvent = (value: unknown, { pid }: { pid: number }) => {
    const { file, done } = value as StepEvent;
    progress.set(file, done);
    const total = [...progress.values()].reduce((sum, fraction) => sum + fraction, 0);
    if (bar !== undefined) {
      bar.update(Number(total.toFixed(2)), { current: `${file} in child ${pid}` });
    } else if (Math.floor((4 * total) / FILES.length) > lastQuarter) {
      lastQuarter = Math.floor((4 * total) / FILES.length);
      console.log(`  ${lastQuarter * 25}% done`);
    }
  };
  try {
    // chunksize 1: each file is its own task, and goes to whichever child is free.
    const results = await pool.map('makeThumbnails', FILES, { chunksize: 1, onEvent });
    bar?.stop();
    console.log(`made the thumbnails of ${results.length} files; the first: ${results[0].file} → ${results[0].digest}`);
    console.log(`events received: ${[...progress.values()].filter((done) => done === 1).length} files reported done`);
  } finally {
    pool.close();
    await pool.join();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
