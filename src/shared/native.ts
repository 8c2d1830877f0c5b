/**
 * The native part of SharedMemory (native/shared-memory.c), loaded on first use from beside the running build:
 * dist/native/forkpool-<platform>-<arch>.node next to dist/index.cjs, dist/index.mjs and dist/child.cjs, or the
 * one in dist/ when the TypeScript sources run as they are (ts-jest, ts-node).
 *
 * Anything that keeps it from working makes {@link nativeMemory} return undefined, never throw: no binary for
 * this platform, musl instead of glibc, a file that does not load, a runtime that refuses ArrayBuffers over
 * outside memory, or FORKPOOL_NO_NATIVE=1 in the environment. SharedMemory then runs in copy mode. The reason
 * is logged for `NODE_DEBUG=forkpool`.
 */
import { closeSync, existsSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { buildDir } from './build-dir';

/** What the addon offers; see native/shared-memory.c. Failures throw errors with the errno's name as `code`. */
export interface NativeMemory {
  /** A new memfd (close-on-exec) named `name` in /proc/<pid>/fd; its descriptor. */
  memfd(name: string): number;
  /** Allocate the pages of file `fd` up to `size` bytes now (fallocate), setting its size. */
  reserve(fd: number, size: number): void;
  /**
   * An ArrayBuffer over `size` bytes of file `fd`. `shared`: MAP_SHARED, and the mapping takes `fd`, which it
   * closes when it ends. Otherwise MAP_PRIVATE (copy on write), and `fd` stays the caller's.
   */
  map(fd: number, size: number, shared: boolean): ArrayBuffer;
  /** End a mapping made by `map` now: detach it, unmap it, close the descriptor it took. False if it had ended. */
  unmap(buffer: ArrayBuffer): boolean;
}

/** The environment variable that turns the native part off (tests use it to run copy mode). */
export const NO_NATIVE_ENV = 'FORKPOOL_NO_NATIVE';

/** The platforms the build compiles a binary for (scripts/build-native.mjs). */
const PLATFORMS = ['linux-x64'];

const debug = debuglog('forkpool');

/** Not tried yet, or the outcome of the one try: the addon, or undefined with the reason logged. */
let loaded: { native: NativeMemory | undefined } | undefined;

/** The addon, loaded on the first call; undefined where it cannot work (the reason goes to NODE_DEBUG=forkpool). */
export function nativeMemory(): NativeMemory | undefined {
  loaded ??= { native: load() };
  return loaded.native;
}

function load(): NativeMemory | undefined {
  const env = process.env[NO_NATIVE_ENV];
  if (env !== undefined && env !== '' && env !== '0') return unavailable(`${NO_NATIVE_ENV}=${env} is set`);
  const platform = `${process.platform}-${process.arch}`;
  if (!PLATFORMS.includes(platform)) return unavailable(`there is no native binary for ${platform}`);
  if (isMusl()) return unavailable('the binary is built for glibc, and this Node runs on musl');
  const file = binaryPath(platform);
  if (file === undefined) return unavailable('the directory of this build is unknown (bundled into an ES module?)');
  if (!existsSync(file)) return unavailable(`${file} does not exist`);
  const addon = { exports: {} as NativeMemory };
  try {
    process.dlopen(addon, file);
    probe(addon.exports);
  } catch (error) {
    return unavailable(`${file} does not work here: ${(error as Error).message}`);
  }
  debug('SharedMemory shares memory through %s', file);
  return addon.exports;
}

function unavailable(reason: string): undefined {
  debug('SharedMemory runs in copy mode: %s', reason);
  return undefined;
}

/**
 * Every step once on a page, so that a runtime that loads the binary but cannot use it (a kernel without
 * memfd, a runtime that refuses external ArrayBuffers) turns to copy mode here rather than fail later.
 */
function probe(native: NativeMemory): void {
  const fd = native.memfd('forkpool-probe');
  let buffer: ArrayBuffer;
  try {
    native.reserve(fd, 4096);
    buffer = native.map(fd, 4096, true);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  const view = new Uint8Array(buffer);
  view[4095] = 1;
  const ok = readSync(fd, Buffer.alloc(1), 0, 1, 4095) === 1 && view[4095] === 1;
  native.unmap(buffer);
  if (!ok || buffer.byteLength !== 0) throw new Error('the probe mapping did not behave as shared memory');
}

/** dist/native/forkpool-<platform>.node beside the running build, as the child script is found. */
function binaryPath(platform: string): string | undefined {
  const dir = buildDir();
  return dir === undefined ? undefined : join(dir, 'native', `forkpool-${platform}.node`);
}

/** Whether this Node runs on musl (Alpine): its dynamic loader is mapped into the process. */
function isMusl(): boolean {
  try {
    return /\/ld-musl-|\/libc\.musl-/.test(readFileSync('/proc/self/maps', 'utf8'));
  } catch {
    return false;
  }
}
