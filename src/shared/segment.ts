/**
 * Segments: bytes too large for the IPC pipe, handed from one process to another through a file that has no
 * name. The writer writes the bytes into a memfd (with the native part), else an O_TMPFILE file in /dev/shm or
 * the temporary directory (else one opened and unlinked at once), and sends only a {@link SegmentRef}. The
 * reader opens the writer's descriptor through `/proc/<pid>/fd/<fd>` and maps the file (zero copy) or reads it.
 * Once the reader holds it, the writer closes its descriptor; the file is freed when the reader lets go.
 *
 *     writer                                         reader
 *     ref = writeSegment(bytes)       ── ref ──▶     bytes = readSegment(ref)   (opened: an own reference)
 *     closeSegment(ref)               ◀── done ──    ... releaseSegment(bytes) when done, or let it be collected
 *
 * The writer writes with write(2), not through a mapping, so its own memory does not grow by the segment's
 * size. Nothing is ever left in a filesystem: the file has no name (or loses it before the first byte is
 * written), and the kernel frees it with its last descriptor or mapping, whoever dies first.
 */
import { closeSync, constants as fsConstants, existsSync, fstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { constants as bufferConstants } from 'node:buffer';
import { ensureHeadroom } from './memory-headroom';
import { nativeMemory } from './native';
import { withCode } from '../errors';

/** Where a segment is: a descriptor open in the writing process, and the file's identity. */
export interface SegmentRef {
  /** The writing process. */
  pid: number;
  /** Its descriptor of the file; -1 for an empty segment, which has no file. */
  fd: number;
  size: number;
  /** The file's inode number, checked by the reader so that a reused pid or descriptor is refused. */
  ino: number;
}

/** Options of {@link writeSegment}, for tests. */
export interface WriteSegmentOptions {
  /** Directories to try, in order, after a memfd. @default ['/dev/shm', os.tmpdir()] */
  dirs?: readonly string[];
}

/**
 * A segment this large has the machine's memory checked first (memory-headroom.ts), which costs a read of
 * /proc/meminfo: more than a smaller segment costs to write, and a smaller one cannot be what exhausts it.
 */
const HEADROOM_CHECKED_BYTES = 64 * 2 ** 20;

/** Directories whose files are memory: the memory they take is checked first, as for a memfd. */
const MEMORY_DIRS = ['/dev/shm'];

/** O_TMPFILE, which Node's fs.constants lacks: Linux's generic value of __O_TMPFILE, with O_DIRECTORY. */
const O_TMPFILE = 0o20000000 | fsConstants.O_DIRECTORY;

/** The descriptors of this process's segments not yet closed, with their files' inodes: closing is checked. */
const written = new Map<number, number>();
/** Whether this system has /proc/<pid>/fd, which segments are read through; asked once. */
let available: boolean | undefined;

/** Views over mapped segments, which releaseSegment() unmaps. */
const mappedViews = new WeakSet<ArrayBuffer>();
let nextName = 1;

/**
 * Whether segments work here: only where another process's descriptor can be opened through
 * `/proc/<pid>/fd` (Linux). Elsewhere large values have to travel in band.
 */
export function segmentsAvailable(): boolean {
  available ??= process.platform === 'linux' && existsSync('/proc/self/fd');
  return available;
}

/**
 * Write `data` (one or more chunks, in order) into a new nameless file: a memfd if the native part is loaded,
 * else a file in /dev/shm, else in the temporary directory. A place that fails (full, missing, out of memory)
 * is left for the next, with nothing left behind.
 *
 * The descriptor stays open in this process until {@link closeSegment}: call it once the reader has read the
 * segment, or when it never will (the call was dropped, the reader died).
 *
 * @throws the last place's error (`code` `'ENOSPC'`, `'ENOMEM'`, `'EMFILE'`, ...), naming every place tried.
 */
export function writeSegment(data: Uint8Array | readonly Uint8Array[], options: WriteSegmentOptions = {}): SegmentRef {
  const chunks = isChunkList(data) ? data : [data];
  const size = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  if (size === 0) return { pid: process.pid, fd: -1, size: 0, ino: 0 };
  const failures: string[] = [];
  let last: unknown;
  for (const place of places(options)) {
    let fd: number | undefined;
    try {
      if (size >= HEADROOM_CHECKED_BYTES && (place === 'memfd' || MEMORY_DIRS.includes(place))) ensureHeadroom(size, `a segment of ${size} bytes`);
      fd = place === 'memfd' ? nativeMemory()!.memfd('forkpool-segment') : openNameless(place);
      writeAll(fd, chunks);
      const { ino } = fstatSync(fd);
      written.set(fd, ino);
      return { pid: process.pid, fd, size, ino };
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      failures.push(`${place}: ${(error as Error).message}`);
      last = error;
    }
  }
  const code = (last as NodeJS.ErrnoException | undefined)?.code;
  throw Object.assign(new Error(`Cannot write a segment of ${size} bytes anywhere (${failures.join('; ')})`, { cause: last }), { code });
}

/**
 * The bytes of another process's segment. With the native part they are mapped, copy on write (no copy is
 * made, and the writer's file stays as it was whatever the reader does to them); else they are read.
 * The reader holds the file from here on: the writer may close its descriptor.
 *
 * @throws Error with `code` `'ERR_POOL_SEGMENT_GONE'` (and the system's error as `cause`) if the writer no
 * longer holds the segment (it died or closed it) or cannot be reached.
 */
export function readSegment(ref: SegmentRef): Uint8Array {
  if (ref.size === 0) return new Uint8Array(0);
  let fd: number;
  try {
    fd = openSync(`/proc/${ref.pid}/fd/${ref.fd}`, 'r');
  } catch (error) {
    throw segmentGone(ref, `process ${ref.pid} no longer holds it (or cannot be reached)`, error);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.ino !== ref.ino || stat.size !== ref.size) throw segmentGone(ref, `descriptor ${ref.fd} of process ${ref.pid} is another file now`);
    const native = nativeMemory();
    if (native !== undefined && ref.size <= bufferConstants.MAX_LENGTH) {
      try {
        const buffer = native.map(fd, ref.size, false);
        mappedViews.add(buffer);
        return new Uint8Array(buffer);
      } catch {
        // Out of address space or refused: reading works where mapping does not.
      }
    }
    const bytes = Buffer.allocUnsafeSlow(ref.size);
    for (let done = 0; done < ref.size; ) {
      const read = readSync(fd, bytes, done, ref.size - done, done);
      if (read === 0) throw segmentGone(ref, `it ended after ${done} of ${ref.size} bytes`);
      done += read;
    }
    return bytes;
  } finally {
    // A mapping keeps the file without the descriptor.
    closeSync(fd);
  }
}

/**
 * The writer is done with a segment: close its descriptor. Only this process's own, open segments are closed;
 * anything else (a second call, another process's ref) does nothing, so a reused descriptor number is never
 * closed by mistake.
 */
export function closeSegment(ref: SegmentRef): void {
  if (ref.pid !== process.pid || written.get(ref.fd) !== ref.ino) return;
  written.delete(ref.fd);
  closeSync(ref.fd);
}

/**
 * The reader is done with bytes from {@link readSegment}: a mapped segment is unmapped now rather than when it
 * is collected (its views read length 0 from here); read bytes are left to the garbage collector.
 */
export function releaseSegment(bytes: Uint8Array): void {
  const buffer = bytes.buffer as ArrayBuffer;
  if (!mappedViews.has(buffer)) return;
  mappedViews.delete(buffer);
  nativeMemory()!.unmap(buffer);
}

/** Where to write, in order: a memfd, then each directory. */
function places(options: WriteSegmentOptions): string[] {
  const dirs = options.dirs ?? [...MEMORY_DIRS, tmpdir()];
  return nativeMemory() === undefined ? [...dirs] : ['memfd', ...dirs];
}

/**
 * A new file in `dir` with no name: O_TMPFILE where the filesystem has it, else a fresh name unlinked at once,
 * before anything is written, so that a crash can leave at most an empty file, and only in that instant.
 */
function openNameless(dir: string): number {
  try {
    return openSync(dir, fsConstants.O_RDWR | O_TMPFILE, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Refused by the filesystem or the kernel (EOPNOTSUPP, EISDIR, EINVAL); anything else is the directory's.
    if (code !== 'EOPNOTSUPP' && code !== 'EISDIR' && code !== 'EINVAL') throw error;
  }
  const file = `${dir}/forkpool-segment-${process.pid}-${nextName++}`;
  const fd = openSync(file, 'wx+', 0o600);
  try {
    unlinkSync(file);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

function writeAll(fd: number, chunks: readonly Uint8Array[]): void {
  let position = 0;
  for (const chunk of chunks) {
    for (let done = 0; done < chunk.byteLength; ) {
      const wrote = writeSync(fd, chunk, done, chunk.byteLength - done, position);
      done += wrote;
      position += wrote;
    }
  }
}

function isChunkList(data: Uint8Array | readonly Uint8Array[]): data is readonly Uint8Array[] {
  return Array.isArray(data);
}

function segmentGone(ref: SegmentRef, why: string, cause?: unknown): Error {
  const detail = cause === undefined ? '' : `: ${(cause as Error).message}`;
  return withCode(new Error(`Cannot read a segment of ${ref.size} bytes (descriptor ${ref.fd} of process ${ref.pid}): ${why}${detail}`, { cause }), 'ERR_POOL_SEGMENT_GONE');
}
