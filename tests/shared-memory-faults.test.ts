/**
 * What SIGKILL leaves of shared memory: nothing. A parent process and its child hold a 64 MiB block (or a
 * segment) and are killed in several orders; afterwards /proc/meminfo's Shmem is back where it was (give or take
 * what other tests hold for a moment) and no forkpool file is left in /dev/shm or the temporary directory.
 */
import type { SharedBlockDescription } from '../src/shared/shared-memory';
import type { SegmentRef } from '../src/shared/segment';
import { expectNoChildrenLeft, killQuietly } from './faults-helpers';
import { waitFor } from './helpers';
import { MiB, expectShmemBackTo, forkpoolFiles, shmem, usePeers, waitGone, type Peer } from './shared-memory-helpers';

const peers = usePeers();
const SIZE = 64 * MiB;

/** The parents' children, which outlive a killed parent: killed after each test whatever happened in it. */
const grandchildren: number[] = [];
afterEach(async () => {
  for (const pid of grandchildren) killQuietly(pid);
  await Promise.all(grandchildren.splice(0).map(waitGone));
});
afterAll(expectNoChildrenLeft);

/** A parent peer with a child of its own, the child's pid, Shmem before, and the files there were. */
async function family(env: Record<string, string> = {}): Promise<{ parent: Peer; child: number; baseline: number; files: string[] }> {
  const baseline = shmem();
  const files = forkpoolFiles();
  const parent = await peers.process({ env });
  const child = await parent.request<number>('spawn', { env });
  grandchildren.push(child);
  return { parent, child, baseline, files };
}

function kill(pid: number): void {
  process.kill(pid, 'SIGKILL');
}

async function expectRiseOf(baseline: number, bytes: number): Promise<void> {
  await waitFor(() => shmem() >= baseline + bytes * 0.75, 5000, `Shmem up by ${bytes} bytes`);
}

async function expectNothingLeft(baseline: number, files: string[]): Promise<void> {
  await expectShmemBackTo(baseline);
  expect(forkpoolFiles().filter((file) => !files.includes(file))).toEqual([]);
}

/** The parent makes a block, the child maps it and writes every page. */
async function parentBlockMappedByChild(parent: Peer): Promise<SharedBlockDescription> {
  const description = await parent.request<SharedBlockDescription>('create', { size: SIZE });
  await parent.requestChild('attach', { description });
  await parent.requestChild('fill', { id: description.id, value: 1 });
  await expect(parent.request('get', { id: description.id, offset: SIZE - 1 })).resolves.toBe(1);
  return description;
}

test('SIGKILL of the parent, then of the child that maps its block: the pages live on with the child, then are freed', async () => {
  const { parent, child, baseline, files } = await family();
  await parentBlockMappedByChild(parent);
  await expectRiseOf(baseline, SIZE);
  await parent.kill();
  await expectRiseOf(baseline, SIZE);
  kill(child);
  await waitGone(child);
  await expectNothingLeft(baseline, files);
});

test('SIGKILL of the child that maps the block, then of the parent that made it', async () => {
  const { parent, child, baseline, files } = await family();
  await parentBlockMappedByChild(parent);
  kill(child);
  await waitGone(child);
  await expectRiseOf(baseline, SIZE);
  await parent.kill();
  await expectNothingLeft(baseline, files);
});

test('SIGKILL of both at once', async () => {
  const { parent, child, baseline, files } = await family();
  await parentBlockMappedByChild(parent);
  kill(child);
  kill(parent.pid);
  await Promise.all([waitGone(child), parent.exited]);
  await expectNothingLeft(baseline, files);
});

test('SIGKILL of a child that made a block its parent maps, then of the parent', async () => {
  const { parent, child, baseline, files } = await family();
  const description = await parent.requestChild<SharedBlockDescription>('create', { size: SIZE });
  await parent.request('attach', { description });
  await parent.request('fill', { id: description.id, value: 2 });
  await expect(parent.requestChild('get', { id: description.id, offset: 12345 })).resolves.toBe(2);
  kill(child);
  await waitGone(child);
  await expect(parent.request('get', { id: description.id, offset: 12345 })).resolves.toBe(2);
  await parent.kill();
  await expectNothingLeft(baseline, files);
});

test('a block closed everywhere is freed while the processes live on', async () => {
  const { parent, baseline, files } = await family();
  const description = await parentBlockMappedByChild(parent);
  await parent.request('close', { id: description.id });
  await expectRiseOf(baseline, SIZE);
  await parent.requestChild('close', { id: description.id });
  await expectNothingLeft(baseline, files);
  await expect(parent.requestChild('status')).resolves.toMatchObject({ memfds: 0, mapped: 0 });
});

describe('segments', () => {
  /** The parent writes a 64 MiB segment; the child reads it and keeps the bytes (its mapping, or its copy). */
  async function segmentHeldByChild(parent: Peer): Promise<SegmentRef> {
    const { ref, hash } = await parent.request<{ ref: SegmentRef; hash: string }>('writeSegment', { size: SIZE, seed: 'fault' });
    await expect(parent.requestChild('readSegment', { ref, keep: true })).resolves.toEqual({ size: SIZE, hash });
    await parent.request('closeSegment', { ref });
    return ref;
  }

  test('SIGKILL of the writer before anyone read its segment frees it; a late reader is told it is gone', async () => {
    const { parent, child, baseline, files } = await family();
    const { ref } = await parent.request<{ ref: SegmentRef }>('writeSegment', { size: SIZE, seed: 'unread' });
    await expectRiseOf(baseline, SIZE);
    await parent.kill();
    await expectNothingLeft(baseline, files);
    kill(child);
    await waitGone(child);
    const reader = await peers.process();
    await expect(reader.request('readSegment', { ref })).rejects.toMatchObject({ code: 'ERR_POOL_SEGMENT_GONE' });
  });

  test('SIGKILL of the reader holding a mapped segment, the writer having closed its end', async () => {
    const { parent, child, baseline, files } = await family();
    await segmentHeldByChild(parent);
    await expectRiseOf(baseline, SIZE);
    kill(child);
    await waitGone(child);
    await expectNothingLeft(baseline, files);
  });

  test('without the native part (a file in /dev/shm): SIGKILL of writer and reader leaves no file and no page', async () => {
    const { parent, child, baseline, files } = await family({ FORKPOOL_NO_NATIVE: '1' });
    const { ref } = await parent.request<{ ref: SegmentRef }>('writeSegment', { size: SIZE, seed: 'copy' });
    await parent.requestChild('readSegment', { ref, keep: true });
    kill(parent.pid);
    kill(child);
    await Promise.all([waitGone(child), parent.exited]);
    await expectNothingLeft(baseline, files);
  });
});
