/**
 * SharedMemory on its own: create and its size checks, close (and close while calls carry a block), attach in
 * other processes and in worker threads over the same pages, copy mode, and thousands of blocks without a
 * leak. The faults (SIGKILL of holders) are in shared-memory-faults.test.ts.
 */
import fs from 'node:fs';
import { SharedMemory, type BlockDescription, type SharedBlockDescription } from '../src/shared/shared-memory';
import { PoolStateError } from '../src/errors';
import { thrownBy } from './helpers';
import { MiB, expectShmemBackTo, shmem, usePeers } from './shared-memory-helpers';

const peers = usePeers();

/** Descriptors open in this process, and how many of them are, or map, forkpool's memfds. */
function ownStatus(): { fds: number; memfds: number; mapped: number } {
  const links = fs.readdirSync('/proc/self/fd').map((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return '';
    }
  });
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n');
  return {
    fds: links.length,
    memfds: links.filter((link) => link.startsWith('/memfd:forkpool')).length,
    mapped: maps.filter((line) => line.includes('/memfd:forkpool')).length,
  };
}

function shared(block: SharedMemory): SharedBlockDescription {
  const description = block.describe();
  if (description.kind !== 'shared') throw new Error(`block ${block.id} is in copy mode`);
  return description;
}

describe('in one process', () => {
  test('create() makes a zero-filled, truly shared block of the size asked', () => {
    const block = SharedMemory.create(3 * 4096 + 5);
    try {
      expect(block.size).toBe(3 * 4096 + 5);
      expect(block.shared).toBe(true);
      expect(block.buffer.byteLength).toBe(block.size);
      expect(new Uint8Array(block.buffer).every((byte) => byte === 0)).toBe(true);
      expect(block.id).toMatch(new RegExp(`^${process.pid}:0:\\d+$`));
      expect(shared(block)).toMatchObject({ kind: 'shared', id: block.id, size: block.size, pid: process.pid });
      expect(SharedMemory.create(1).id).not.toBe(block.id);
    } finally {
      block.close();
    }
  });

  test('a size that is not a whole number of bytes, 1 or more, is refused, naming the size; nothing is left open', () => {
    const before = ownStatus();
    for (const size of [0, -1, 1.5, NaN, Infinity]) {
      const error = thrownBy(() => SharedMemory.create(size)) as Error;
      expect(error).toBeInstanceOf(RangeError);
      expect(error.message).toContain('`size`');
      expect(error.message).toContain(String(size));
    }
    const error = thrownBy(() => SharedMemory.create('8' as unknown as number)) as Error;
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain("'8' (string)");
    expect(ownStatus()).toEqual(before);
  });

  test('a size the machine cannot hold fails at create() with ENOMEM, before any page is asked for', () => {
    const before = ownStatus();
    const error = thrownBy(() => SharedMemory.create(2 ** 50)) as NodeJS.ErrnoException;
    expect(error.code).toBe('ENOMEM');
    expect(error.message).toContain(String(2 ** 50));
    expect(error.message).toContain('available');
    expect(ownStatus()).toEqual(before);
  });

  test('close() detaches the buffer (views read length 0) and frees the descriptor and the mapping; twice is fine', () => {
    const before = ownStatus();
    const block = SharedMemory.create(MiB);
    const view = new Float64Array(block.buffer);
    view[7] = 1.5;
    expect(ownStatus()).toEqual({ fds: before.fds + 1, memfds: before.memfds + 1, mapped: before.mapped + 1 });
    block.close();
    expect(view.length).toBe(0);
    expect(block.buffer.byteLength).toBe(0);
    expect(ownStatus()).toEqual(before);
    block.close();
    block[Symbol.dispose]();
    expect(thrownBy(() => block.describe())).toBeInstanceOf(PoolStateError);
    expect(thrownBy(() => block.bytes())).toBeInstanceOf(PoolStateError);
    expect(thrownBy(() => block.retain())).toBeInstanceOf(PoolStateError);
  });

  test('`using` closes the block at the end of its scope', () => {
    let view: Uint8Array;
    {
      using block = SharedMemory.create(4096);
      view = new Uint8Array(block.buffer);
      expect(view.length).toBe(4096);
    }
    expect(view.length).toBe(0);
  });

  test('unlink() does nothing: there is no name to remove, and the block stays usable', () => {
    const block = SharedMemory.create(16);
    block.unlink();
    new Uint8Array(block.buffer)[3] = 3;
    expect(new Uint8Array(block.buffer)[3]).toBe(3);
    block.close();
    block.unlink();
  });

  test('close() while calls carry the block takes effect when the last of them has released it', () => {
    const closed: string[] = [];
    const stop = SharedMemory.onClose((id) => closed.push(id));
    try {
      const block = SharedMemory.create(4096);
      block.retain();
      block.retain();
      block.close();
      const view = new Uint8Array(block.buffer);
      view[0] = 1;
      expect(view.length).toBe(4096);
      expect(block.describe()).toMatchObject({ id: block.id });
      // A new call cannot take a block its owner has closed.
      expect(thrownBy(() => block.retain())).toBeInstanceOf(PoolStateError);
      block.release();
      expect(view.length).toBe(4096);
      expect(closed).not.toContain(block.id);
      block.release();
      expect(view.length).toBe(0);
      expect(closed.filter((id) => id === block.id)).toHaveLength(1);
      expect(thrownBy(() => block.release())).toBeInstanceOf(PoolStateError);
    } finally {
      stop();
    }
  });

  test('retain and release without close() leave the block open', () => {
    const block = SharedMemory.create(8);
    block.retain();
    block.release();
    expect(block.buffer.byteLength).toBe(8);
    block.close();
  });

  test('a close listener is told once per block, can be removed, and one that throws becomes a warning', () => {
    const told: string[] = [];
    const stop = SharedMemory.onClose((id) => told.push(id));
    const stopThrowing = SharedMemory.onClose(() => {
      throw new Error('listener failed');
    });
    const warnings: string[] = [];
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation((warning) => void warnings.push(String(warning)));
    try {
      const first = SharedMemory.create(8);
      first.close();
      first.close();
      stop();
      const second = SharedMemory.create(8);
      second.close();
      expect(told).toEqual([first.id]);
      expect(warnings.some((message) => message.includes('listener failed'))).toBe(true);
    } finally {
      emit.mockRestore();
      stopThrowing();
    }
  });

  test('attaching a block this thread holds gives the same block, with no new mapping', () => {
    const block = SharedMemory.create(4096);
    const before = ownStatus();
    expect(SharedMemory.attach(shared(block))).toBe(block);
    expect(ownStatus()).toEqual(before);
    block.close();
  });

  test('a description whose descriptor now holds another file is refused, not mapped', () => {
    const gone = SharedMemory.create(4096);
    const description = shared(gone);
    gone.close();
    // The next block takes the freed descriptor number.
    const other = SharedMemory.create(4096);
    try {
      expect(shared(other).fd).toBe(description.fd);
      const error = thrownBy(() => SharedMemory.attach({ ...description, id: 'elsewhere:1' })) as NodeJS.ErrnoException;
      expect(error.code).toBe('ERR_POOL_SHARED_MEMORY_ATTACH');
      expect(error.message).toContain('another file');
      const missing = thrownBy(() => SharedMemory.attach({ ...description, id: 'elsewhere:2', fd: 100000 })) as NodeJS.ErrnoException;
      expect(missing.code).toBe('ERR_POOL_SHARED_MEMORY_ATTACH');
      expect((missing.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    } finally {
      other.close();
    }
  });

  test('fromBytes() makes a block from bytes, or copies them in place into the block this thread holds', () => {
    const description: BlockDescription = { kind: 'copy', id: 'elsewhere:3', size: 4 };
    const made = SharedMemory.fromBytes(description, Uint8Array.of(1, 2, 3, 4));
    expect(made.shared).toBe(false);
    expect([...made.bytes()]).toEqual([1, 2, 3, 4]);
    const view = new Uint8Array(made.buffer);
    expect(SharedMemory.fromBytes(description, Uint8Array.of(5, 6, 7, 8))).toBe(made);
    expect([...view]).toEqual([5, 6, 7, 8]);
    expect(thrownBy(() => SharedMemory.fromBytes(description, Uint8Array.of(1)))).toBeInstanceOf(RangeError);
    // A copy-mode block has nothing to map.
    expect(thrownBy(() => SharedMemory.attach(description as unknown as SharedBlockDescription))).toBeInstanceOf(TypeError);
    made.close();
    expect(view.length).toBe(0);

    // A truly shared block takes the bytes into its pages.
    const block = SharedMemory.create(3);
    expect(SharedMemory.fromBytes(block.describe(), Uint8Array.of(9, 8, 7))).toBe(block);
    expect([...new Uint8Array(block.buffer)]).toEqual([9, 8, 7]);
    block.close();
  });

  test('two copies of the library (a child script and a task module): instanceof agrees, and an attach maps the same pages', async () => {
    const cjs = require('../dist/index.cjs') as typeof import('../src');
    expect(cjs.SharedMemory).not.toBe(SharedMemory);
    const block = cjs.SharedMemory.create(64);
    expect(block).toBeInstanceOf(SharedMemory);
    expect(SharedMemory.create(1)).toBeInstanceOf(cjs.SharedMemory);
    expect({}).not.toBeInstanceOf(SharedMemory);
    // Each copy keeps its own blocks: the other one's block is attached afresh, over the same pages.
    const attached = SharedMemory.attach(shared(block));
    expect(attached).not.toBe(block);
    new Uint8Array(block.buffer)[7] = 42;
    expect(new Uint8Array(attached.buffer)[7]).toBe(42);
    const closed: string[] = [];
    const stop = SharedMemory.onClose((id) => closed.push(id));
    attached.close();
    block.close();
    stop();
    expect(closed).toEqual([block.id]);
  });

  test('5,000 blocks made and closed, then 2,000 alive at once: no descriptor, mapping or page is left', async () => {
    const before = ownStatus();
    const baseline = shmem();
    for (let i = 0; i < 5000; i++) SharedMemory.create(4096).close();
    expect(ownStatus()).toEqual(before);
    const alive = Array.from({ length: 2000 }, () => SharedMemory.create(4096));
    expect(ownStatus().memfds).toBe(before.memfds + 2000);
    expect(new Set(alive.map((block) => block.id)).size).toBe(2000);
    for (const block of alive) block.close();
    expect(ownStatus()).toEqual(before);
    await expectShmemBackTo(baseline);
  });
});

describe('copy mode (FORKPOOL_NO_NATIVE=1)', () => {
  let CopyMemory: typeof SharedMemory;
  beforeAll(() => {
    process.env.FORKPOOL_NO_NATIVE = '1';
    jest.isolateModules(() => {
      CopyMemory = (require('../src/shared/shared-memory') as typeof import('../src/shared/shared-memory')).SharedMemory;
    });
  });
  afterAll(() => {
    delete process.env.FORKPOOL_NO_NATIVE;
  });

  test('blocks are plain ArrayBuffers, shared === false, and everything else works the same', () => {
    const before = ownStatus();
    const block = CopyMemory.create(1024);
    expect(block.shared).toBe(false);
    expect(block.buffer).toBeInstanceOf(ArrayBuffer);
    expect(new Uint8Array(block.buffer).every((byte) => byte === 0)).toBe(true);
    expect(block.describe()).toEqual({ kind: 'copy', id: block.id, size: 1024 });
    const view = new Uint8Array(block.buffer);
    view[9] = 9;
    expect(block.bytes()[9]).toBe(9);
    expect(CopyMemory.fromBytes(block.describe(), new Uint8Array(1024).fill(2))).toBe(block);
    expect(view[9]).toBe(2);
    block.retain();
    block.close();
    expect(view.length).toBe(1024);
    block.release();
    expect(view.length).toBe(0);
    block.close();
    expect(ownStatus()).toEqual(before);
    expect(thrownBy(() => CopyMemory.create(0))).toBeInstanceOf(RangeError);
    expect((thrownBy(() => CopyMemory.create(2 ** 50)) as NodeJS.ErrnoException).code).toBe('ENOMEM');
  });
});

describe('between processes and threads', () => {
  test('a block made here and attached in a child process shares its pages both ways', async () => {
    const child = await peers.process();
    const block = SharedMemory.create(64 * 1024);
    const view = new Uint8Array(block.buffer);
    view[100] = 42;
    await expect(child.request('attach', { description: block.describe() })).resolves.toEqual({ id: block.id, shared: true, size: block.size });
    await expect(child.request('get', { id: block.id, offset: 100 })).resolves.toBe(42);
    await child.request('set', { id: block.id, offset: 65535, value: 7 });
    expect(view[65535]).toBe(7);
    // Attaching again in the child reuses its mapping.
    const status = await child.request('status');
    await child.request('attach', { description: block.describe() });
    expect((await child.request('status')).mapped).toBe(status.mapped);
    block.close();
    // The child's view outlives this one.
    await expect(child.request('get', { id: block.id, offset: 100 })).resolves.toBe(42);
    await child.request('close', { id: block.id });
    expect(await child.request('status')).toMatchObject({ memfds: 0, mapped: 0, closedIds: [block.id] });
  });

  test('a block made in a child process is attached here, over the same pages', async () => {
    const child = await peers.process();
    const description = await child.request<SharedBlockDescription>('create', { size: 4096 });
    expect(description.pid).toBe(child.pid);
    const block = SharedMemory.attach(description);
    expect(block.shared).toBe(true);
    new Uint8Array(block.buffer)[5] = 55;
    await expect(child.request('get', { id: description.id, offset: 5 })).resolves.toBe(55);
    await child.request('set', { id: description.id, offset: 6, value: 66 });
    expect(new Uint8Array(block.buffer)[6]).toBe(66);
    // This process's description of it names its own descriptor, for a third process to attach through.
    expect(shared(block)).toMatchObject({ id: description.id, pid: process.pid, ino: description.ino });
    block.close();
  });

  test('a worker thread attaches a block of its process and shares its pages', async () => {
    const worker = await peers.worker();
    const block = SharedMemory.create(4096);
    const view = new Uint8Array(block.buffer);
    view[1] = 11;
    await expect(worker.request('attach', { description: block.describe() })).resolves.toMatchObject({ shared: true });
    await expect(worker.request('get', { id: block.id, offset: 1 })).resolves.toBe(11);
    await worker.request('set', { id: block.id, offset: 2, value: 22 });
    expect(view[2]).toBe(22);
    // A block made in the thread is attached here: its id is the thread's, not one of this thread's blocks.
    const made = await worker.request<SharedBlockDescription>('create', { size: 4096 });
    expect(made.id).toMatch(new RegExp(`^${process.pid}:[1-9]\\d*:1$`));
    const theirs = SharedMemory.attach(made);
    expect(theirs).not.toBe(block);
    await worker.request('set', { id: made.id, offset: 3, value: 33 });
    expect(new Uint8Array(theirs.buffer)[3]).toBe(33);
    theirs.close();
    block.close();
  });

  test("a worker thread that is terminated leaves neither its mappings nor its descriptors", async () => {
    const before = ownStatus();
    const worker = await peers.worker();
    const block = SharedMemory.create(4096);
    await worker.request('attach', { description: block.describe() });
    await worker.request('create', { size: 4096 });
    expect(ownStatus().memfds).toBe(before.memfds + 3);
    await worker.kill();
    expect(ownStatus().memfds).toBe(before.memfds + 1);
    block.close();
    expect(ownStatus()).toEqual(before);
  });

  test('a third process attaches through a holder after the creator closed: the pages live on', async () => {
    const [creator, holder, third] = await Promise.all([peers.process(), peers.process(), peers.process()]);
    const description = await creator.request<SharedBlockDescription>('create', { size: 8192 });
    await creator.request('set', { id: description.id, offset: 8000, value: 80 });
    await holder.request('attach', { description });
    await creator.request('close', { id: description.id });
    await expect(third.request('attach', { description })).rejects.toMatchObject({ code: 'ERR_POOL_SHARED_MEMORY_ATTACH' });
    const held = await holder.request<SharedBlockDescription>('describe', { id: description.id });
    expect(held).toMatchObject({ id: description.id, pid: holder.pid, ino: description.ino });
    await third.request('attach', { description: held });
    await expect(third.request('get', { id: description.id, offset: 8000 })).resolves.toBe(80);
    await third.request('set', { id: description.id, offset: 1, value: 1 });
    await expect(holder.request('get', { id: description.id, offset: 1 })).resolves.toBe(1);
  });

  test('a process without the native part attaches a shared block as a copy', async () => {
    const child = await peers.process({ env: { FORKPOOL_NO_NATIVE: '1' } });
    const block = SharedMemory.create(4096);
    new Uint8Array(block.buffer)[4095] = 9;
    await expect(child.request('attach', { description: block.describe() })).resolves.toMatchObject({ shared: false, size: 4096 });
    await expect(child.request('get', { id: block.id, offset: 4095 })).resolves.toBe(9);
    // Its writes come back as bytes, which land in this process's pages.
    await child.request('set', { id: block.id, offset: 0, value: 1 });
    const bytes = await child.request<Uint8Array>('bytes', { id: block.id });
    expect(SharedMemory.fromBytes(block.describe(), bytes)).toBe(block);
    expect(new Uint8Array(block.buffer)[0]).toBe(1);
    block.close();
  });

  test('copy mode between processes: blocks travel as bytes and update in place', async () => {
    const child = await peers.process({ env: { FORKPOOL_NO_NATIVE: '1' } });
    const description = await child.request<BlockDescription>('create', { size: 16 });
    expect(description).toEqual({ kind: 'copy', id: expect.stringMatching(`^${child.pid}:`), size: 16 });
    await child.request('fill', { id: description.id, value: 3 });
    const here = SharedMemory.fromBytes(description, await child.request('bytes', { id: description.id }));
    expect([...new Uint8Array(here.buffer)]).toEqual(new Array(16).fill(3));
    new Uint8Array(here.buffer).fill(4);
    await child.request('fromBytes', { description, bytes: here.bytes() });
    await expect(child.request('hash', { id: description.id })).resolves.toBe(
      require('node:crypto').createHash('sha1').update(new Uint8Array(16).fill(4)).digest('hex'),
    );
    expect((await child.request('status')).native).toBe(false);
    here.close();
  });

  test('a block nobody closes is freed when collected, and the close listeners are told', async () => {
    const child = await peers.process({ execArgv: ['--expose-gc'] });
    const status = await child.request('forget', { size: MiB });
    expect(status.closedIds).toContain(status.id);
    expect(status).toMatchObject({ memfds: 0, mapped: 0 });
  });
});
