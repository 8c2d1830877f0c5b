/**
 * Children exit when the parent dies, even by SIGKILL, even one stuck in a synchronous loop.
 *
 * An idle child notices by itself (its IPC channel disconnects), but a busy one never runs that handler.
 * So each pool starts one small shell that reads the pids of its children from a pipe. Nothing else holds
 * that pipe open: when the parent dies, however it dies, the shell reads end-of-file and SIGKILLs the
 * children still listed. One shell per pool costs about a megabyte, where a watcher thread in every child
 * would cost a V8 isolate each.
 *
 * Where there is no POSIX shell (Windows), each child watches its parent from a thread of its own instead
 * (child/orphan-watch.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

const SHELL = '/bin/sh';

// Ctrl-C and a hang-up reach the whole process group; the parent decides, so the shell ignores them.
// Removing a pid that is listed twice or not at all must not garble the list, hence the case guard.
const SCRIPT = `
trap '' INT HUP
pids=' '
while IFS= read -r line; do
  case "$line" in
    -*) pid="\${line#-}"
        case "$pids" in *" $pid "*) pids="\${pids%% $pid *} \${pids#* $pid }" ;; esac ;;
    *) pids="$pids$line " ;;
  esac
done
[ -n "\${pids# }" ] && kill -9 $pids 2>/dev/null
exit 0
`;

/** What the engine needs of a guard (tests give it one that does nothing). */
export interface ParentDeathGuard {
  /** Whether children must watch for themselves (no guard can do it for them here). */
  readonly childrenWatch: boolean;
  watch(pid: number | undefined): void;
  forget(pid: number | undefined): void;
  start(): void;
  close(): void;
}

export class OrphanGuard implements ParentDeathGuard {
  #shell: ChildProcess | undefined;
  /** Lines for a shell not started yet. */
  #unsent: string[] = [];
  #deferredStart: NodeJS.Immediate | undefined;
  /** The shell could not start, or died: children watch for themselves from now on. */
  #failed = !shellAvailable;
  #closed = false;
  readonly #onFail: () => void;

  /** `onFail`: the shell is gone, so children already started must be told to watch for themselves. */
  constructor(onFail: () => void = () => {}) {
    this.#onFail = onFail;
    // Windows has no shell for it, and its children always watch for themselves: nothing to warn about.
    if (!shellAvailable && process.platform !== 'win32') warnOnce(`${SHELL} was not found`);
  }

  /** Whether children must watch for themselves (no shell here, or it failed). */
  get childrenWatch(): boolean {
    return this.#failed;
  }

  /**
   * Started with the first child, not before (a pool that never forks has no guard), and not at once either:
   * spawning the shell blocks the parent for a few milliseconds, better spent while the children boot than
   * before the constructor returns. A child cannot be stuck in a task before it has one, and the engine calls
   * `start()` before it sends any.
   */
  watch(pid: number | undefined): void {
    if (pid === undefined || this.#failed) return;
    this.#write(`${pid}\n`);
    if (this.#shell === undefined) this.#deferredStart ??= setImmediate(() => this.start());
  }

  forget(pid: number | undefined): void {
    if (pid !== undefined && !this.#failed) this.#write(`-${pid}\n`);
  }

  /** Start the shell now if children are waiting for it. */
  start(): void {
    if (this.#shell !== undefined || this.#unsent.length === 0 || this.#failed || this.#closed) return;
    clearImmediate(this.#deferredStart);
    let shell: ChildProcess;
    try {
      shell = spawn(SHELL, ['-c', SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'] });
    } catch (error) {
      this.#fail(`${SHELL} could not be started (${(error as Error).message})`);
      return;
    }
    // Out of descriptors or processes, spawn() returns a process that reports 'error' a moment later, and
    // has no stdin (null, or on some Node versions undefined).
    shell.on('error', (error) => this.#fail(`${SHELL} could not be started or failed (${error.message})`));
    if (shell.stdin == null) {
      this.#fail(`${SHELL} could not be started (no pipe to it could be opened)`);
      return;
    }
    this.#shell = shell;
    shell.on('exit', () => this.#fail(`${SHELL} exited`));
    shell.stdin!.on('error', () => {});
    // The guard must not keep the parent alive, nor outlive the pool.
    shell.unref();
    (shell.stdin as unknown as { unref(): void }).unref();
    shell.stdin!.write(this.#unsent.join(''));
    this.#unsent = [];
  }

  /** Every child has exited: the shell ends (with nothing left to kill), or never starts. */
  close(): void {
    this.#closed = true;
    clearImmediate(this.#deferredStart);
    this.#unsent = [];
    this.#shell?.stdin?.end();
  }

  #write(line: string): void {
    if (this.#shell === undefined) this.#unsent.push(line);
    else this.#shell.stdin!.write(line);
  }

  /** No shell guards the children: say so, and have them watch for themselves. */
  #fail(what: string): void {
    if (this.#failed || this.#closed) return;
    this.#failed = true;
    this.#unsent = [];
    warnOnce(what);
    this.#onFail();
  }
}

export const ORPHAN_GUARD_WARNING = 'ForkpoolOrphanGuardWarning';
let warned = false;

function warnOnce(what: string): void {
  if (warned) return;
  warned = true;
  process.emitWarning(
    `${what}: children cannot be killed from outside if this process dies while they run a task, so each ` +
      'child watches for that itself, with a thread of its own (about 10 MB more per child).',
    { type: ORPHAN_GUARD_WARNING },
  );
}

const shellAvailable = process.platform === 'win32' ? false : fs.existsSync(SHELL);
