/**
 * Shared by the cluster tests: a real Redis of the test's own (127.0.0.1, a free port, no persistence),
 * hosts started as separate `forkpool worker` processes, pools that are terminated after each test, and a
 * Redis client to look at the queue. Every process a test starts is killed and reaped before the file ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ClusterExecutor, ClusterPool, type ClusterExecutorOptions, type ClusterPoolOptions } from '../../src/cluster';
import { killQuietly } from '../faults-helpers';
import { fixture, isAlive, waitFor } from '../helpers';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { INSTALL } = require('../redis-server') as { INSTALL: string };

const ROOT = path.join(__dirname, '..', '..');
/** The `forkpool` command, as built into dist/. */
export const BIN = path.join(ROOT, 'dist', 'forkpool.cjs');
/** The task module the hosts of these tests load. */
export const TASKS = fixture('cluster-tasks.js');

/** A port nobody listens on now (Redis binds it next; a lost race is retried). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of the test's own: loopback only, no persistence, killed at the end. */
export class RedisServer {
  #process: ChildProcess | undefined;
  #port = 0;
  #exited: Promise<void> = Promise.resolve();

  get url(): string {
    return `redis://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** Start it on a free port, or on `port` again (a restart: empty, as Redis without persistence comes back). */
  async start(port?: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.#port = port ?? (await freePort());
      const child = spawn(
        'redis-server',
        ['--port', String(this.#port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      this.#process = child;
      const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
      this.#exited = new Promise((resolve) => child.once('close', () => resolve()));
      const failed = await Promise.race([spawnError, new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined)))]);
      if (failed !== undefined) {
        throw new Error(`The cluster tests need redis-server, which could not be started (${failed.message}). Install it: ${INSTALL}`);
      }
      let output = '';
      child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
      child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
      const ready = await this.#answers(child);
      if (ready) return;
      if (attempt === 5 || port !== undefined) throw new Error(`redis-server did not start on port ${this.#port}: ${output}`);
    }
  }

  /** Wait until it answers PING, or exits. */
  async #answers(child: ChildProcess): Promise<boolean> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      const answered = await new Promise<boolean>((resolve) => {
        const socket = net.connect(this.#port, '127.0.0.1');
        socket.once('connect', () => socket.write('PING\r\n'));
        socket.once('data', (data) => {
          socket.destroy();
          resolve(data.toString().startsWith('+PONG'));
        });
        socket.once('error', () => resolve(false));
      });
      if (answered) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  }

  /** Send a signal (SIGKILL: Redis dies; SIGSTOP / SIGCONT: it freezes, and thaws). */
  signal(signal: NodeJS.Signals): void {
    if (this.#process?.pid !== undefined) killQuietly(this.#process.pid, signal);
  }

  /** Kill it and wait until it is reaped. */
  async kill(): Promise<void> {
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    await this.#exited;
  }
}

/** Run `body` with a Redis of its own (for a test that kills, freezes or restarts it), killed whatever happens. */
export async function withRedis<T>(body: (redis: RedisServer) => Promise<T>): Promise<T> {
  const redis = new RedisServer();
  await redis.start();
  try {
    return await body(redis);
  } finally {
    await redis.kill();
  }
}

/** A host: `forkpool worker` as a process of its own, its output read line by line. */
export class HostProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';
  #partial = '';

  constructor(args: string[], cwd = ROOT) {
    this.child = spawn(process.execPath, [BIN, 'worker', '--verbose', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('close', (code, signal) => resolve({ code, signal })));
    this.child.stdout!.on('data', (data: Buffer) => {
      const parts = (this.#partial + data.toString()).split('\n');
      this.#partial = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.on('data', (data: Buffer) => (this.stderr += data.toString()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The host's id, once it has said it takes jobs. */
  get id(): string | undefined {
    const line = this.lines.find((text) => text.startsWith('forkpool worker '));
    return line?.slice('forkpool worker '.length).split(':')[0];
  }

  /** Pids of the children it started. */
  get children(): number[] {
    return this.lines.filter((line) => line.startsWith('spawn ')).map((line) => Number(line.slice(6)));
  }

  async ready(timeout = 15_000): Promise<this> {
    try {
      await waitFor(() => this.id !== undefined, timeout, 'the host to take jobs');
    } catch (error) {
      throw new Error(`${(error as Error).message}\nstdout: ${this.lines.join('\n')}\nstderr: ${this.stderr}`);
    }
    return this;
  }

  signal(signal: NodeJS.Signals): void {
    killQuietly(this.pid, signal);
  }

  /** Kill it, wait until it is reaped, and until its children are gone (they watch for their parent's death). */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.signal('SIGCONT');
      this.signal('SIGKILL');
    }
    await this.exited;
    await waitFor(() => this.children.every((pid) => !isAlive(pid)), 10_000, `the children of host ${this.pid} to exit`);
  }
}

let queues = 0;

/** A host's command line: its processes, its module ('' for none), and more arguments. */
interface HostSpec {
  processes?: number;
  module?: string;
  args?: string[];
}

/**
 * A Redis for the test file, and factories for queues, hosts and pools, all cleaned up after each test
 * (pools terminated, hosts killed) and after the file (Redis killed).
 */
export function useCluster() {
  const redis = new RedisServer();
  const hosts: HostProcess[] = [];
  /** Hosts started in a beforeAll, for the whole file. */
  const fileHosts: HostProcess[] = [];
  let inTest = false;
  beforeEach(() => {
    inTest = true;
  });
  const pools: Array<ClusterPool | ClusterExecutor> = [];
  const clients: Redis[] = [];
  beforeAll(() => redis.start(), 20_000);
  afterEach(async () => {
    await Promise.all(
      pools.splice(0).map(async (pool) => {
        if (pool instanceof ClusterPool) {
          pool.terminate();
          await pool.join();
        } else {
          await pool.shutdown({ wait: true, cancelFutures: true });
        }
      }),
    );
    await Promise.all(hosts.splice(0).map((host) => host.kill()));
    inTest = false;
  }, 30_000);
  afterAll(async () => {
    await Promise.all(fileHosts.splice(0).map((host) => host.kill()));
    for (const client of clients.splice(0)) client.disconnect();
    await redis.kill();
  }, 30_000);

  const spawnHost = (queue: string, { processes = 1, module = TASKS, args = [] }: HostSpec): HostProcess => {
    const moduleArgs = module === '' ? [] : ['--module', module];
    const host = new HostProcess(['--redis', redis.url, '--queue', queue, '--processes', String(processes), ...moduleArgs, ...args]);
    (inTest ? hosts : fileHosts).push(host);
    return host;
  };

  return {
    redis,
    /** A queue name no other test uses. */
    queue: (): string => `test-${process.pid}-${++queues}`,
    /**
     * Start a host on `queue` (default: one process, the cluster tasks module); resolves once it takes jobs.
     * Killed after the test, or after the file when started outside a test (in a beforeAll).
     */
    host: (queue: string, options: HostSpec = {}): Promise<HostProcess> => spawnHost(queue, options).ready(),
    /** Start a host, without waiting for it to take jobs. */
    spawnHost: (queue: string, options: HostSpec = {}): HostProcess => spawnHost(queue, options),
    pool: <M = typeof import('../fixtures/cluster-tasks')>(queue: string, options: Partial<ClusterPoolOptions> = {}): ClusterPool<M> => {
      const pool = new ClusterPool<M>({ connection: redis.url, queue, ...options });
      pools.push(pool);
      return pool;
    },
    executor: <M = typeof import('../fixtures/cluster-tasks')>(queue: string, options: Partial<ClusterExecutorOptions> = {}): ClusterExecutor<M> => {
      const executor = new ClusterExecutor<M>({ connection: redis.url, queue, ...options });
      pools.push(executor);
      return executor;
    },
    /** A plain Redis client, to look at the queue's keys. */
    client: (): Redis => {
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    },
  };
}

/** The lines the tasks appended to `file` (with `mark`), to count how many times each ran, and where. */
export function marks(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
