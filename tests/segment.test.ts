/**
 * Segments: bytes handed from one process to another through a nameless file, for values too large for the
 * IPC pipe. Round trips of 0 bytes, 1 byte and 64 MiB with and without the native part, where the bytes are
 * written, what the writer and the reader each hold, and a place that is full or missing.
 */
import fs from 'node:fs';
import os from 'node:os';
import { closeSegment, readSegment, releaseSegment, segmentsAvailable, writeSegment, type SegmentRef } from '../src/shared/segment';
import { expectNoChildrenLeft } from './faults-helpers';
import { thrownBy } from './helpers';
import { MiB, forkpoolFiles, usePeers } from './shared-memory-helpers';

const peers = usePeers();

afterAll(expectNoChildrenLeft);

interface Written {
  ref: SegmentRef;
  hash: string;
  /** Where the writer's descriptor points: /memfd:..., /dev/shm/#<inode> (deleted), ... */
  where: string | undefined;
}

describe.each([
  ['with the native part', {}],
  ['without the native part', { FORKPOOL_NO_NATIVE: '1' }],
])('%s', (_, env: Record<string, string>) => {
  const native = env.FORKPOOL_NO_NATIVE === undefined;

  test.each([0, 1, 64 * MiB])('%d bytes go from one process to another, and nothing stays open', async (size) => {
    const files = forkpoolFiles();
    const [writer, reader] = await Promise.all([peers.process({ env }), peers.process({ env })]);
    const { ref, hash, where } = await writer.request<Written>('writeSegment', { size, seed: 'trip' });
    expect(ref).toMatchObject({ pid: writer.pid, size });
    if (size === 0) expect(ref.fd).toBe(-1);
    else expect(where).toMatch(native ? /^\/memfd:forkpool-segment/ : /^\/dev\/shm\/#\d+ \(deleted\)$/);
    await expect(reader.request('readSegment', { ref })).resolves.toEqual({ size, hash });
    await writer.request('closeSegment', { ref });
    for (const peer of [writer, reader]) {
      const status = await peer.request('status');
      expect(status).toMatchObject({ memfds: 0, mapped: 0, native });
    }
    expect(forkpoolFiles().filter((file) => !files.includes(file))).toEqual([]);
  });

  test('the reader keeps the bytes after the writer closed its end, and after the writer died', async () => {
    const [writer, reader] = await Promise.all([peers.process({ env }), peers.process({ env })]);
    const { ref, hash } = await writer.request<Written>('writeSegment', { size: MiB + 3, seed: 'kept' });
    await reader.request('readSegment', { ref, keep: true });
    await writer.request('closeSegment', { ref });
    await writer.kill();
    await expect(reader.request('hashHeld', { fd: ref.fd })).resolves.toBe(hash);
    // What it holds: the file's mapping (its descriptor closed once mapped), or its own copy.
    await expect(reader.request('status')).resolves.toMatchObject({ memfds: 0, mapped: native ? 1 : 0 });
  });
});

test('segments are available on Linux, which has /proc/<pid>/fd', () => {
  expect(segmentsAvailable()).toBe(process.platform === 'linux');
});

test('a segment written here is read by another process, mapped without a copy', async () => {
  const reader = await peers.process();
  const bytes = Buffer.from('a segment from the test process');
  const ref = writeSegment([bytes.subarray(0, 5), bytes.subarray(5)]);
  try {
    await expect(reader.request('readSegment', { ref })).resolves.toMatchObject({ size: bytes.length });
    expect(fs.readlinkSync(`/proc/self/fd/${ref.fd}`)).toMatch(/^\/memfd:forkpool-segment/);
  } finally {
    closeSegment(ref);
  }
  expect(() => fs.fstatSync(ref.fd)).toThrow();
});

test("a segment of another process is read here; releaseSegment() unmaps it at once", async () => {
  const writer = await peers.process();
  const { ref, hash } = await writer.request<Written>('writeSegment', { size: 3 * MiB, seed: 'here' });
  const bytes = readSegment(ref);
  await writer.request('closeSegment', { ref });
  expect(bytes.byteLength).toBe(3 * MiB);
  expect(require('node:crypto').createHash('sha1').update(bytes).digest('hex')).toBe(hash);
  // Copy on write: changing the bytes read changes nothing for anyone else.
  bytes[0] = 0;
  releaseSegment(bytes);
  expect(bytes.byteLength).toBe(0);
  releaseSegment(bytes);
});

test('closeSegment() closes only an open segment of this process: twice, or a ref from elsewhere, does nothing', () => {
  const ref = writeSegment(Uint8Array.of(1, 2, 3));
  closeSegment(ref);
  // The descriptor number is taken again by something else, which the second close must leave alone.
  const fd = fs.openSync(__filename, 'r');
  try {
    expect(fd).toBe(ref.fd);
    closeSegment(ref);
    closeSegment({ ...ref, pid: process.pid + 1 });
    expect(fs.fstatSync(fd).isFile()).toBe(true);
  } finally {
    fs.closeSync(fd);
  }
  closeSegment(writeSegment([]));
});

test('a segment whose writer no longer holds it is refused with ERR_POOL_SEGMENT_GONE', () => {
  const ref = writeSegment(Uint8Array.of(1));
  closeSegment(ref);
  const error = thrownBy(() => readSegment(ref)) as NodeJS.ErrnoException;
  expect(error.code).toBe('ERR_POOL_SEGMENT_GONE');
  expect(error.message).toContain(`descriptor ${ref.fd} of process ${process.pid}`);
  // The descriptor number reused for another file: its identity tells them apart.
  const other = writeSegment(Uint8Array.of(2));
  try {
    expect(other.fd).toBe(ref.fd);
    expect((thrownBy(() => readSegment(ref)) as NodeJS.ErrnoException).code).toBe('ERR_POOL_SEGMENT_GONE');
  } finally {
    closeSegment(other);
  }
});

test('a place that cannot take the segment is left for the next one', async () => {
  const writer = await peers.process({ env: { FORKPOOL_NO_NATIVE: '1' } });
  const { ref, where } = await writer.request<Written>('writeSegment', { size: 10, seed: 'next', dirs: ['/nonexistent-forkpool', os.tmpdir()] });
  expect(where).toMatch(new RegExp(`^${os.tmpdir()}/`));
  const reader = await peers.process();
  await expect(reader.request('readSegment', { ref })).resolves.toMatchObject({ size: 10 });
});

test('when no place can take it (the file size limit reached everywhere), a clear error, and no file or descriptor left', async () => {
  const files = forkpoolFiles();
  for (const env of [{}, { FORKPOOL_NO_NATIVE: '1' }] as Record<string, string>[]) {
    const writer = await peers.process({ env, fileSizeLimit: 1024 });
    const before = await writer.request('status');
    const error = await writer.request('writeSegment', { size: 4 * MiB, seed: 'full' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EFBIG', message: expect.stringContaining(`Cannot write a segment of ${4 * MiB} bytes anywhere`) });
    expect((error as Error).message).toContain('/dev/shm: EFBIG');
    expect((error as Error).message).toContain(`${os.tmpdir()}: EFBIG`);
    // Under the limit, it still works.
    await expect(writer.request('writeSegment', { size: 1000, seed: 'small' })).resolves.toMatchObject({ ref: { size: 1000 } });
    expect((await writer.request('status')).fds).toBe(before.fds + 1);
  }
  expect(forkpoolFiles().filter((file) => !files.includes(file))).toEqual([]);
});
