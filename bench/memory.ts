/**
 * Resident memory of the measuring process and of its children, read from /proc (Linux). Elsewhere the
 * readings are null and the report says "n/a".
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { MemoryReport, ProcessMemory } from './types';

const KiB_PER_MiB = 1024;

/** A field of /proc/<pid>/status in MiB, or null when it cannot be read. */
function statusMiB(pid: number | 'self', field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match === null ? null : Number(match[1]) / KiB_PER_MiB;
  } catch {
    return null;
  }
}

/** Pids of this process's live children (zombies left out). Empty where /proc is missing. */
export function childPids(): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces: the fields that follow are fixed.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === process.pid && state !== 'Z') pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

let gcFunction: (() => void) | undefined;

/** A full garbage collection, without starting node with --expose-gc (its children would inherit it). */
export function collectGarbage(): void {
  if (gcFunction === undefined) {
    v8.setFlagsFromString('--expose_gc');
    gcFunction = vm.runInNewContext('gc') as () => void;
  }
  gcFunction();
}

/** Start the peak (VmHWM) of this process afresh from its present size. False when the kernel refuses. */
function resetPeak(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function processMemory(pid: number): ProcessMemory | null {
  const rssMiB = statusMiB(pid, 'VmRSS');
  const peakMiB = statusMiB(pid, 'VmHWM');
  return rssMiB === null || peakMiB === null ? null : { pid, rssMiB, peakMiB };
}

/** Readings around one workload: `begin()` before the pool is created, `end()` before it is closed. */
export class MemoryProbe {
  #base: number | null = null;
  #peakTracked = false;

  begin(): void {
    collectGarbage();
    this.#peakTracked = resetPeak();
    this.#base = statusMiB('self', 'VmRSS');
  }

  /** `settle`: collect this process's garbage first (for resting sizes, not peaks). */
  end({ settle = false } = {}): MemoryReport {
    const parentPeakMiB = this.#peakTracked ? statusMiB('self', 'VmHWM') : null;
    if (settle) collectGarbage();
    return {
      parentBaseMiB: this.#base,
      parentPeakMiB,
      parentEndMiB: statusMiB('self', 'VmRSS'),
      children: childPids().flatMap((pid) => processMemory(pid) ?? []),
    };
  }
}

/**
 * Give children a pool has been told to stop `graceMs` to exit (some pools report closing before their
 * children are gone), then kill those still there; returns the pids that had to be killed.
 */
export async function reapChildren(graceMs: number): Promise<number[]> {
  const deadline = Date.now() + graceMs;
  let pids = childPids();
  while (pids.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    pids = childPids();
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone in the meantime
    }
  }
  return pids;
}
