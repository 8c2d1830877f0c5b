/**
 * What SIGKILL leaves of shared memory: nothing. A parent process and its child hold a 64 MiB block (or a
 * segment) and are killed in several orders; afterwards /proc/meminfo's Shmem is back where it was (give or take
 * what other tests hold for a moment) and no forkpool file is left in /dev/shm or the temporary directory.
 */
import fs from 'node:fs';
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

/**
 * The shared files of forkpool (memfds; nameless files in /dev/shm or the temporary directory) that `pid` holds
 * open or mapped, their sizes by inode. Read from the process itself, as Shmem, which counts the whole
 * machine's, moves with what other tests hold at the time.
 */
function heldFiles(pid: number): Map<number, number> {
  const held = new Map<number, number>();
  const shared = (file: string) => file.startsWith('/memfd:forkpool-') || (/^\/(dev\/shm|tmp)\//.test(file) && file.endsWith('(deleted)'));
  const fdDir = `/proc/${pid}/fd`;
  let fds: string[] = [];
  try {
    fds = fs.readdirSync(fdDir);
  } catch {
    return held; // gone
  }
  for (const fd of fds) {
    try {
      if (!shared(fs.readlinkSync(`${fdDir}/${fd}`))) continue;
      const { ino, size } = fs.statSync(`${fdDir}/${fd}`);
      held.set(ino, size);
    } catch {
      // closed meanwhile
    }
  }
  let maps = '';
  try {
    maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return held;
  }
  for (const line of maps.split('\n')) {
    const [range, , , , inode, ...file] = line.trim().split(/\s+/);
    if (range === undefined || inode === undefined || !shared(file.join(' '))) continue;
    const [start, end] = range.split('-').map((hex) => parseInt(hex, 16));
    held.set(Number(inode), Math.max(held.get(Number(inode)) ?? 0, end - start));
  }
  return held;
}

/** Some of `pids` hold forkpool's shared files of `bytes` in all: the pages are alive, and who keeps them. */
async function expectHeldBy(pids: number[], bytes: number): Promise<void> {
  const total = () => {
    const files = new Map<number, number>();
    for (const pid of pids) for (const [ino, size] of heldFiles(pid)) files.set(ino, Math.max(files.get(ino) ?? 0, size));
    return [...files.values()].reduce((sum, size) => sum + size, 0);
  };
  await waitFor(() => total() >= bytes, 5000, `processes ${pids.join(', ')} to hold ${bytes} bytes of shared files (they hold ${total()})`);
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
  await expectHeldBy([parent.pid, child], SIZE);
  await parent.kill();
  await expectHeldBy([child], SIZE);
  kill(child);
  await waitGone(child);
  await expectNothingLeft(baseline, files);
});

test('SIGKILL of the child that maps the block, then of the parent that made it', async () => {
  const { parent, child, baseline, files } = await family();
  await parentBlockMappedByChild(parent);
  kill(child);
  await waitGone(child);
  await expectHeldBy([parent.pid], SIZE);
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
  const { parent, child, baseline, files } = await family();
  const description = await parentBlockMappedByChild(parent);
  await parent.request('close', { id: description.id });
  await expectHeldBy([child], SIZE);
  await parent.requestChild('close', { id: description.id });
  await waitFor(() => heldFiles(parent.pid).size + heldFiles(child).size === 0, 5000, 'neither process to hold a shared file');
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
    await expectHeldBy([parent.pid], SIZE);
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
    await expectHeldBy([child], SIZE);
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
