/**
 * Shared by the SharedMemory and segment tests: peers (tests/fixtures/shared-memory-peer.ts, bundled beside a
 * link to dist/native as the library's bundles sit beside the binary) run as processes or worker threads and
 * driven by commands; and what the machine says about shared memory (/proc/meminfo's Shmem, files left in
 * /dev/shm and the temporary directory).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildSync, stop as stopEsbuild } from 'esbuild';
import { isAlive, waitFor } from './helpers';

const ROOT = path.join(__dirname, '..');
export const MiB = 2 ** 20;

/** What a peer says about itself: its descriptors, and how many are (or map) forkpool memfds. */
export interface PeerStatus {
  pid: number;
  fds: number;
  memfds: number;
  mapped: number;
  closedIds: string[];
  native: boolean;
}

/** An error a peer answered with. */
export class PeerError extends Error {
  code: string | undefined;
  constructor(error: { name: string; message: string; code?: string }) {
    super(error.message);
    this.name = error.name;
    this.code = error.code;
  }
}

/** One peer process or worker thread, driven by `request`. */
export class Peer {
  readonly #send: (message: unknown) => void;
  readonly #answers = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();
  #seq = 0;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  readonly pid: number;
  readonly #stop: () => void;

  constructor(kind: { process: ChildProcess } | { worker: Worker }) {
    const emitter = 'process' in kind ? kind.process : kind.worker;
    this.pid = 'process' in kind ? kind.process.pid! : process.pid;
    this.#send = (message) => ('process' in kind ? kind.process.send(message as object) : kind.worker.postMessage(message));
    this.#stop = () => ('process' in kind ? kind.process.kill('SIGKILL') : void kind.worker.terminate());
    let ready: () => void;
    this.ready = new Promise((resolve) => (ready = resolve));
    emitter.on('message', (answer: { seq: number; result?: unknown; error?: { name: string; message: string; code?: string } }) => {
      if (answer.seq === 0) return ready();
      const waiting = this.#answers.get(answer.seq);
      this.#answers.delete(answer.seq);
      if (answer.error !== undefined) waiting?.reject(new PeerError(answer.error));
      else waiting?.resolve(answer.result);
    });
    this.exited = new Promise((resolve) => emitter.once('exit', () => resolve()));
    void this.exited.then(() => {
      for (const waiting of this.#answers.values()) waiting.reject(new Error(`peer ${this.pid} exited`));
      this.#answers.clear();
    });
  }

  request<T = any>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const seq = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      this.#answers.set(seq, { resolve, reject });
      this.#send({ ...args, op, seq });
    });
  }

  /** A command for this peer's own child (see `spawn`). */
  requestChild<T = any>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    return this.request<T>('child', { command: { ...args, op } });
  }

  /** SIGKILL (a worker: terminate), and wait until it is gone. */
  async kill(): Promise<void> {
    this.#stop();
    await this.exited;
  }
}

export interface PeerOptions {
  /** Added to the environment. */
  env?: Record<string, string>;
  execArgv?: string[];
  /** RLIMIT_FSIZE, in KiB (`ulimit -f`): writing a file beyond it fails with EFBIG. */
  fileSizeLimit?: number;
}

/**
 * Starts peers for the tests of one file (the bundle is made once, in a scratch directory), and kills every
 * peer still running after each test.
 */
export function usePeers(): {
  process(options?: PeerOptions): Promise<Peer>;
  worker(): Promise<Peer>;
} {
  let dir: string | undefined;
  let script = '';
  const peers: Peer[] = [];
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkpool-peer-'));
    script = path.join(dir, 'peer.cjs');
    buildSync({
      entryPoints: [path.join(__dirname, 'fixtures', 'shared-memory-peer.ts')],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      outfile: script,
      logLevel: 'warning',
    });
    fs.symlinkSync(path.join(ROOT, 'dist', 'native'), path.join(dir, 'native'));
    // esbuild leaves a service process running for later builds; there are none.
    void stopEsbuild();
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((peer) => peer.kill()));
  });
  afterAll(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });
  async function started(peer: Peer): Promise<Peer> {
    peers.push(peer);
    await peer.ready;
    return peer;
  }
  return {
    process: ({ env = {}, execArgv = [], fileSizeLimit }: PeerOptions = {}) => {
      // A file size limit is set by a shell, which then becomes the peer (exec), IPC channel and all.
      const limited = fileSizeLimit === undefined ? {} : { execPath: '/bin/sh', execArgv: ['-c', `ulimit -f ${fileSizeLimit}; exec "$0" "$@"`, process.execPath, ...execArgv] };
      return started(new Peer({ process: fork(script, [], { env: { ...process.env, ...env }, execArgv, serialization: 'advanced', ...limited }) }));
    },
    worker: () => started(new Peer({ worker: new Worker(script) })),
  };
}

/** /proc/meminfo's Shmem: bytes of shared memory (tmpfs, memfd, shared anonymous) in use on the machine. */
export function shmem(): number {
  const kib = /^Shmem:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))![1];
  return Number(kib) * 1024;
}

/**
 * Wait until Shmem is back to at most `baseline` plus a tolerance for what other tests, running at the same
 * time, hold for a moment.
 */
export async function expectShmemBackTo(baseline: number, tolerance = 24 * MiB): Promise<void> {
  await waitFor(() => shmem() <= baseline + tolerance, 10000, `Shmem back to ${baseline} bytes (now ${shmem()})`);
}

/**
 * forkpool's files in /dev/shm and the temporary directory. Files only: other tests make scratch directories
 * named forkpool-* there.
 */
export function forkpoolFiles(): string[] {
  return ['/dev/shm', os.tmpdir()].flatMap((dir) => {
    try {
      return fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.name.startsWith('forkpool-') && !entry.isDirectory())
        .map((entry) => path.join(dir, entry.name));
    } catch {
      return [];
    }
  });
}

/** Wait until a process is gone (dead, or a zombie nobody has reaped). */
export async function waitGone(pid: number): Promise<void> {
  await waitFor(() => !isAlive(pid), 10000, `process ${pid} to end`);
}
