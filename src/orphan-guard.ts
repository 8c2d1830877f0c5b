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
 * (workers/orphan-watch.ts).
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

export class OrphanGuard {
  #shell: ChildProcess | undefined;

  /** Whether children must watch for themselves (no shell here). */
  static get childrenWatch(): boolean {
    return !shellAvailable;
  }

  watch(pid: number | undefined): void {
    if (pid === undefined || !shellAvailable) return;
    // Started with the first child, not before: a pool that never forks has no guard.
    this.#shell ??= startShell();
    this.#shell.stdin!.write(`${pid}\n`);
  }

  forget(pid: number | undefined): void {
    if (pid !== undefined) this.#shell?.stdin!.write(`-${pid}\n`);
  }

  /** Every child has exited: the shell ends (with nothing left to kill). */
  close(): void {
    this.#shell?.stdin!.end();
  }
}

function startShell(): ChildProcess {
  const shell = spawn(SHELL, ['-c', SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'] });
  shell.on('error', () => {});
  shell.stdin!.on('error', () => {});
  // The guard must not keep the parent alive, nor outlive the pool.
  shell.unref();
  (shell.stdin as unknown as { unref(): void }).unref();
  return shell;
}

const shellAvailable = process.platform !== 'win32' && fs.existsSync(SHELL);
