/**
 * Shared by the fault tests: side-effect files, the processes a test started, and scripts run as a separate
 * parent process.
 */
import { liveThreads } from '../src/transports/thread/thread-transport';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fixture, isAlive, waitFor } from './helpers';

/** The non-empty lines of a file, or none if it does not exist. */
export function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}

/** The parent pid of a process, or undefined if it is gone. */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Live (not zombie) children of a process. */
export function childrenOf(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (parentOf(pid) === parent && isAlive(pid)) pids.push(pid);
  }
  return pids;
}

/** Wait until this process has no live child left: every pool joined, every script reaped. */
export async function expectNoChildrenLeft(): Promise<void> {
  await waitFor(() => childrenOf(process.pid).length === 0, 5000, `no child processes left (${childrenOf(process.pid).join(' ')})`);
  await waitFor(() => liveThreads().length === 0, 5000, `no worker threads left (${liveThreads().join(' ')})`);
}

/** Send a signal, ignoring a process that is already gone. */
export function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/**
 * A fixture script run as its own parent process (`node tests/fixtures/<name>`), its output read line by
 * line. `detached` gives it a process group of its own, whose id is its pid.
 */
export class Script {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  /** Bytes read from stdout and stderr, for scripts that write a lot. */
  stdoutBytes = 0;
  stderrBytes = 0;
  /** What it wrote to stderr, up to the first 256 KiB. */
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #partial = '';
  readonly #keepLines: boolean;
  readonly #detached: boolean;

  constructor(name: string, args: string[] = [], { detached = false, keepLines = true } = {}) {
    this.#keepLines = keepLines;
    this.#detached = detached;
    this.child = spawn(process.execPath, [fixture(name), ...args], { detached, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('close', (code, signal) => resolve({ code, signal })));
    this.child.stdout!.on('data', (data: Buffer) => {
      this.stdoutBytes += data.length;
      this.#collect(data.toString('latin1'));
    });
    this.child.stderr!.on('data', (data: Buffer) => {
      this.stderrBytes += data.length;
      if (this.stderr.length < 256 * 1024) this.stderr += data.toString('latin1').slice(0, 256 * 1024 - this.stderr.length);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Lines that are `prefix`, or start with `prefix + ' '`; without the prefix. */
  linesOf(prefix: string): string[] {
    return this.lines
      .filter((line) => line === prefix || line.startsWith(`${prefix} `))
      .map((line) => line.slice(prefix.length + 1));
  }

  /** Wait for `count` lines starting with `prefix`, and return their rest. */
  async waitForLines(prefix: string, count = 1, timeout = 10000): Promise<string[]> {
    try {
      await waitFor(() => this.linesOf(prefix).length >= count, timeout, `${count} '${prefix}' line(s)`);
    } catch (error) {
      const output = `stdout lines: ${JSON.stringify(this.lines.slice(-20))}\nstderr: ${this.stderr.slice(0, 2000)}`;
      throw new Error(`${(error as Error).message} from ${this.child.spawnargs.join(' ')}\n${output}`);
    }
    return this.linesOf(prefix);
  }

  /** SIGKILL it, and its whole group if it has one of its own. */
  kill(): void {
    if (this.#detached) killQuietly(-this.pid);
    if (this.child.exitCode === null && this.child.signalCode === null) killQuietly(this.pid);
  }

  #collect(text: string): void {
    // Only lines this test looks for are kept in full; megabytes of noise are counted and dropped.
    const parts = (this.#partial + text).split('\n');
    this.#partial = parts.pop()!;
    if (this.#partial.length > 4096) this.#partial = this.#partial.slice(-4096);
    if (!this.#keepLines) {
      for (const line of parts) if (line.startsWith('RESULT ')) this.lines.push(line);
      return;
    }
    this.lines.push(...parts);
  }
}
