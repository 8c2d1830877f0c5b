/**
 * What SharedMemory and segments cost: the time to create a 256 MiB block, and the time to write a 256 MiB
 * segment in one process and read it in another, with and without the native part, with each side's peak
 * RSS. Measures and prints; asserts nothing.
 *
 *     npm run build && npx ts-node bench/shared-memory.ts [MiB]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { SharedMemory } from '../src/shared/shared-memory';
import { readSegment, releaseSegment, writeSegment, closeSegment, type SegmentRef } from '../src/shared/segment';

const MiB = 2 ** 20;
const size = Number(process.argv[2] ?? 256) * MiB;
const RUNS = 5;

type Role = { role: 'writer' } | { role: 'reader' };

function ms(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

/** Peak RSS of this process so far, in MiB. */
function peakRss(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** One side of a segment hand-over, in its own process, driven by messages. */
function serve(role: Role['role']): void {
  let written: SegmentRef | undefined;
  let data: Buffer | undefined;
  process.on('message', (message: { op: string; ref?: SegmentRef }) => {
    if (role === 'writer' && message.op === 'write') {
      data ??= Buffer.alloc(size, 'forkpool');
      const before = peakRss();
      const started = process.hrtime.bigint();
      written = writeSegment(data);
      process.send!({ ref: written, writeMs: ms(started), rssBefore: before, rssPeak: peakRss() });
    } else if (role === 'writer' && message.op === 'close') {
      closeSegment(written!);
      process.send!({});
    } else if (role === 'reader' && message.op === 'read') {
      const before = peakRss();
      let started = process.hrtime.bigint();
      const bytes = readSegment(message.ref!);
      const readMs = ms(started);
      // Touch every page, as a reader that uses the bytes would.
      started = process.hrtime.bigint();
      let sum = 0;
      for (let at = 0; at < bytes.byteLength; at += 4096) sum += bytes[at];
      const touchMs = ms(started);
      const rssPeak = peakRss();
      releaseSegment(bytes);
      process.send!({ readMs, touchMs, rssBefore: before, rssPeak, sum });
    }
  });
}

function ask<T>(child: ChildProcess, message: object): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer as T));
    child.send(message);
  });
}

async function segments(native: boolean): Promise<void> {
  const env = { ...process.env, FORKPOOL_NO_NATIVE: native ? '' : '1', FORKPOOL_BENCH_ROLE: '' };
  const start = (role: string): ChildProcess => fork(__filename, [String(size / MiB)], { env: { ...env, FORKPOOL_BENCH_ROLE: role } });
  const writer = start('writer');
  const reader = start('reader');
  const rows: string[] = [];
  for (let run = 0; run < RUNS; run++) {
    const wrote = await ask<{ ref: SegmentRef; writeMs: number; rssBefore: number; rssPeak: number }>(writer, { op: 'write' });
    const read = await ask<{ readMs: number; touchMs: number; rssBefore: number; rssPeak: number }>(reader, { op: 'read', ref: wrote.ref });
    await ask(writer, { op: 'close' });
    rows.push(
      `  run ${run + 1}: write ${wrote.writeMs.toFixed(1)} ms (writer peak RSS ${wrote.rssBefore} -> ${wrote.rssPeak} MiB), ` +
        `read ${read.readMs.toFixed(1)} ms + touch ${read.touchMs.toFixed(1)} ms (reader peak RSS ${read.rssBefore} -> ${read.rssPeak} MiB)`,
    );
  }
  writer.kill();
  reader.kill();
  console.log(`segment of ${size / MiB} MiB between two processes, ${native ? 'with' : 'without'} the native part:`);
  for (const row of rows) console.log(row);
}

async function main(): Promise<void> {
  const creates: number[] = [];
  const closes: number[] = [];
  let shared = false;
  for (let run = 0; run < RUNS; run++) {
    let started = process.hrtime.bigint();
    const block = SharedMemory.create(size);
    creates.push(ms(started));
    shared = block.shared;
    started = process.hrtime.bigint();
    block.close();
    closes.push(ms(started));
  }
  console.log(`Node ${process.version}, ${process.platform}-${process.arch}`);
  console.log(
    `SharedMemory.create(${size / MiB} MiB) (shared: ${shared}): median ${median(creates).toFixed(1)} ms ` +
      `[${creates.map((t) => t.toFixed(1)).join(', ')}]; close median ${median(closes).toFixed(1)} ms`,
  );
  const small: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) SharedMemory.create(4096).close();
    small.push(ms(started));
  }
  // Milliseconds per thousand are microseconds each.
  console.log(`SharedMemory.create(4096) + close(): median ${median(small).toFixed(1)} us each`);
  await segments(true);
  await segments(false);
}

const role = process.env.FORKPOOL_BENCH_ROLE;
if (role === 'writer' || role === 'reader') serve(role);
else void main();
