/**
 * Big data through a pool (API.md, "Big data"): large values travel out of band, through memory both
 * processes reach, with no API change; SharedMemory blocks arrive over the same pages, are kept by the
 * children for later tasks, come back when a task makes one, and close when the caller says so. Real
 * children; nothing may be left in any filesystem.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PoolStateError, SharedMemory } from '../src';
import { fixture, isAlive, rejectionOf, usePools, waitFor } from './helpers';
import { OUT_OF_BAND_BYTES } from '../src/shared/value-codec';
import { MiB, expectShmemBackTo, forkpoolFiles, shmem } from './shared-memory-helpers';

/** The size from which a binary part travels out of band. */
const BIG = OUT_OF_BAND_BYTES;

const TASKS = fixture('big-data-tasks.js');
type Tasks = typeof import('./fixtures/big-data-tasks');
const makePool = usePools({ processes: 2, module: TASKS });
const pool = () => makePool<Tasks>();

/** The forkpool memfds this process has open or mapped. */
function ownMemfds(): number {
  const fds = fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('/memfd:forkpool');
    } catch {
      return false;
    }
  });
  return fds.length;
}

afterAll(() => {
  expect(forkpoolFiles()).toEqual([]);
});

describe('large values travel out of band, with no API change', () => {
  test('a large Float64Array goes in and comes back doubled, mapped from a segment on the way in', async () => {
    const p = pool();
    const values = Float64Array.from({ length: (2 * BIG) / 8 }, (_, i) => i);
    const doubled = await p.apply('double', [values]);
    expect(doubled).toBeInstanceOf(Float64Array);
    expect(doubled.length).toBe(values.length);
    expect(doubled[123_457]).toBe(246_914);
    // While a task holds the argument, its child maps it: the bytes were not copied through the pipe.
    expect(await p.apply((v: Float64Array, probe: string) => require(probe).mapsMemfd('segment'), [values, TASKS])).toBe(true);
  });

  test.each([
    ['Buffer', () => Buffer.alloc(BIG, 7), 'Uint8Array', true],
    ['Uint8Array', () => new Uint8Array(BIG).fill(7), 'Uint8Array', false],
    ['ArrayBuffer', () => new Uint8Array(BIG).fill(7).buffer, 'ArrayBuffer', false],
    ['Int32Array, offset into its buffer', () => new Int32Array(new ArrayBuffer(BIG + 8), 8, BIG / 4).fill(0x07070707), 'Int32Array', false],
    ['DataView', () => new DataView(new Uint8Array(BIG).fill(7).buffer), 'DataView', false],
  ])('a large %s arrives as itself, both ways', async (_name, make, constructor, isBuffer) => {
    const p = pool();
    const value = make();
    const seen = await p.apply('describe', [value]);
    expect(seen).toMatchObject({ isBuffer, size: (value as ArrayBufferView).byteLength });
    if (!isBuffer) expect(seen.constructor).toBe(constructor);
    const back = (await p.apply('echo', [value])) as ArrayBufferView;
    expect(Object.prototype.toString.call(back)).toBe(Object.prototype.toString.call(value));
    expect(Buffer.isBuffer(back)).toBe(isBuffer);
    const bytes = back instanceof ArrayBuffer ? new Uint8Array(back) : new Uint8Array(back.buffer, back.byteOffset, back.byteLength);
    expect(bytes.length).toBe((value as ArrayBufferView).byteLength);
    expect(bytes.every((byte) => byte === 7)).toBe(true);
  });

  test('large parts nested in objects, Maps and arrays, and shared references, arrive as they were', async () => {
    const p = pool();
    const shared = Buffer.alloc(BIG, 3);
    const value = { a: shared, nested: [shared, { deep: new Map([['k', Buffer.alloc(BIG, 4)]]) }], small: 'text' };
    const back = (await p.apply('echo', [value])) as typeof value;
    expect(back.small).toBe('text');
    expect(back.a[0]).toBe(3);
    expect(back.nested[0]).toBe(back.a);
    expect((back.nested[1] as { deep: Map<string, Buffer> }).deep.get('k')![5]).toBe(4);
  });

  test('a large value without binary parts goes whole, under either serialization', async () => {
    for (const serialization of ['advanced', 'json'] as const) {
      const p = makePool<Tasks>({ serialization });
      // A kilobyte of text a row: more than the threshold altogether, with no binary part.
      const length = Math.ceil(OUT_OF_BAND_BYTES / 1000) + 1;
      const text = 'x'.repeat(1000);
      const rows = Array.from({ length }, (_, i) => ({ i, name: `${text}${i}` }));
      const back = (await p.apply('echo', [rows])) as typeof rows;
      expect(back).toHaveLength(length);
      expect(back[length - 1]).toEqual({ i: length - 1, name: `${text}${length - 1}` });
    }
  });

  test("map's chunks carry large items too, each chunk on its own", async () => {
    const p = pool();
    const items = [1, 2, 3, 4].map((n) => Buffer.alloc(BIG, n));
    const sums = await p.map((buffer: Buffer) => buffer.reduce((a, b) => a + b, 0), items, { chunksize: 2 });
    expect(sums).toEqual([1, 2, 3, 4].map((n) => n * BIG));
  });

  test('no segment is left open in the parent once the calls have settled', async () => {
    const p = pool();
    const before = ownMemfds();
    await p.apply('double', [new Float64Array(BIG / 8)]);
    await p.map('echo', [Buffer.alloc(BIG), Buffer.alloc(BIG)], { chunksize: 1 });
    expect(ownMemfds()).toBe(before);
  });
});

describe('SharedMemory through a pool', () => {
  test('tasks write a block in place, each its half: the caller sees every write, with no copy', async () => {
    // Untyped: the fixture is JavaScript, whose destructured parameter TypeScript cannot type.
    const p = makePool();
    using block = SharedMemory.create(8 * 1000);
    const values = new Float64Array(block.buffer).fill(1);
    const shared = await p.map(
      'scale',
      [
        { block, from: 0, to: 500, factor: 3 },
        { block, from: 500, to: 1000, factor: 5 },
      ],
      { chunksize: 1 },
    );
    expect(shared).toEqual([true, true]);
    expect(values[0]).toBe(3);
    expect(values[999]).toBe(5);
  });

  test('writes in the caller are seen by a running task', async () => {
    const p = pool();
    using block = SharedMemory.create(16);
    new Uint8Array(block.buffer).fill(2);
    expect(await p.apply('sum', [block])).toBe(32);
    new Uint8Array(block.buffer)[0] = 100;
    expect(await p.apply('sum', [block])).toBe(130);
  });

  test('a child keeps a block it has seen for its later tasks, and lets go of it when the caller closes it', async () => {
    const p = makePool<Tasks>({ processes: 1 });
    const block = SharedMemory.create(4096);
    expect(await p.apply('seenBefore', [block])).toBe(false);
    expect(await p.apply('seenBefore', [block])).toBe(true);
    const [pid] = p.pids;
    const mapped = () => fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes(`memfd:forkpool-${block.id}`);
    expect(mapped()).toBe(true);
    block.close();
    await waitFor(() => !mapped(), 5000, 'the child to unmap the closed block');
  });

  test("a block in the initializer's arguments reaches every child, over the same pages", async () => {
    const table = SharedMemory.create(4096);
    new Uint8Array(table.buffer)[7] = 77;
    const p = makePool<Tasks>({ initializer: 'keepTable', initargs: [table] });
    expect(await p.map('fromTable', [7, 7, 7, 7], { chunksize: 1 })).toEqual([77, 77, 77, 77]);
    new Uint8Array(table.buffer)[8] = 88;
    expect(await p.apply('fromTable', [8])).toBe(88);
    p.close();
    await p.join();
    table.close();
  });

  test('a large event travels out of band too', async () => {
    const p = pool();
    const events: unknown[] = [];
    expect(await p.apply('emitLarge', [BIG], { onEvent: (value) => events.push(value) })).toBe('sent');
    expect(events).toHaveLength(1);
    expect(Buffer.isBuffer(events[0])).toBe(true);
    expect((events[0] as Buffer).length).toBe(BIG);
    expect((events[0] as Buffer)[BIG - 1]).toBe(5);
  });

  test('a task may make a block and return it: the caller gets the same pages', async () => {
    const p = pool();
    const { block, note } = (await p.apply('make', [4096, 9])) as { block: SharedMemory; note: string };
    expect(note).toBe('made in the child');
    expect(block).toBeInstanceOf(SharedMemory);
    expect(block.shared).toBe(true);
    expect(new Uint8Array(block.buffer)[4000]).toBe(9);
    expect(await p.apply('sum', [block])).toBe(9 * 4096);
    block.close();
  });

  test('close() while a call carries the block waits for the call; a closed block cannot be passed', async () => {
    const p = pool();
    const block = SharedMemory.create(1024);
    const running = p.apply('fill', [block, 6, 200]);
    block.close();
    // The view ends only once the call has settled.
    expect(block.buffer.byteLength).toBe(1024);
    await expect(running).resolves.toBe(6);
    expect(block.buffer.byteLength).toBe(0);
    const error = await rejectionOf<Error>(p.apply('sum', [block]));
    expect(error).toBeInstanceOf(PoolStateError);
    expect(error.message).toMatch(/closed/);
  });

  test('a child killed while it maps a block: the call fails, the pool goes on, and no page is left', async () => {
    const baseline = shmem();
    const p = makePool<Tasks>({ processes: 1, onWorkerCrash: 'respawn' });
    const block = SharedMemory.create(32 * MiB);
    new Uint8Array(block.buffer).fill(1);
    const hung = p.apply((b: SharedMemory) => {
      new Uint8Array(b.buffer)[0] = 2;
      for (;;);
    }, [block]);
    await waitFor(() => new Uint8Array(block.buffer)[0] === 2, 10_000, 'the task to begin');
    process.kill(p.pids[0], 'SIGKILL');
    await expect(hung).rejects.toMatchObject({ signal: 'SIGKILL' });
    expect(await p.apply('sum', [block])).toBeGreaterThan(0);
    block.close();
    p.close();
    await p.join();
    await expectShmemBackTo(baseline);
  });
});

describe('a parent killed with big data in flight', () => {
  test('SIGKILL of the parent: its children exit, and no page and no file is left', async () => {
    const baseline = shmem();
    const parent = spawn(process.execPath, [fixture('big-data-parent.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    parent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => output.includes(']'), 20_000, 'both tasks to begin');
    const children = JSON.parse(output) as number[];
    expect(children).toHaveLength(2);
    parent.kill('SIGKILL');
    for (const pid of children) await waitFor(() => !isAlive(pid), 10_000, `child ${pid} to exit`);
    await expectShmemBackTo(baseline);
    expect(forkpoolFiles()).toEqual([]);
  });
});

describe('copy mode, where the native part cannot load', () => {
  test('blocks work by copying: shared is false, and writes in a child come back with the result', async () => {
    const script = fixture('copy-mode-parent.js');
    const { stdout } = await promisify(execFile)(process.execPath, [script], {
      env: { ...process.env, FORKPOOL_NO_NATIVE: '1' },
      timeout: 60_000,
    });
    expect(JSON.parse(stdout)).toEqual({ shared: false, halves: [3, 5], returnedShared: false, returnedByte: 9, echoed: 1048576 });
  });
});

test('the fixture module path is absolute', () => {
  expect(path.isAbsolute(TASKS)).toBe(true);
});
