/**
 * How much memory the machine can still give, asked before a large allocation of shared pages.
 *
 * Pages of a memfd or of /dev/shm are allocated one by one, and the kernel does not refuse a request larger than
 * it can hold: it reclaims, then wakes the OOM killer, which may kill this process or any other. fallocate() of
 * 32 TiB on a memfd ends with SIGKILL, not ENOMEM. So a size above what is available is refused before asking:
 * MemAvailable + SwapFree from /proc/meminfo, and less where a memory cgroup (v2 or v1) of this process has a
 * limit, as in a container.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

/** Bytes that can still be allocated without reclaiming beyond what is free to reclaim; undefined if unknown. */
export function memoryHeadroom(): number | undefined {
  let headroom = machineHeadroom();
  for (const limit of cgroupLimits()) {
    const room = limit.max - readNumber(limit.current);
    // NaN (the file went away) leaves the headroom as it was.
    if (room < (headroom ?? Infinity)) headroom = Math.max(0, room);
  }
  return headroom;
}

/**
 * Throw ENOMEM, as the system would if it could say so in time, when `size` bytes are more than
 * {@link memoryHeadroom}. `what` names the request in the message.
 */
export function ensureHeadroom(size: number, what: string): void {
  const headroom = memoryHeadroom();
  if (headroom === undefined || size <= headroom) return;
  throw Object.assign(
    new Error(`ENOMEM: not enough memory, ${what}: ${size} bytes asked, ${headroom} available (MemAvailable + SwapFree, and the cgroup limit)`),
    { code: 'ENOMEM', errno: -constants.errno.ENOMEM, syscall: 'fallocate' },
  );
}

const MEM_AVAILABLE = /^MemAvailable:\s+(\d+) kB/m;
const SWAP_FREE = /^SwapFree:\s+(\d+) kB/m;

function machineHeadroom(): number | undefined {
  let meminfo: string;
  try {
    meminfo = readFileSync('/proc/meminfo', 'latin1');
  } catch {
    return undefined;
  }
  const available = Number(MEM_AVAILABLE.exec(meminfo)?.[1] ?? NaN) + Number(SWAP_FREE.exec(meminfo)?.[1] ?? 0);
  return Number.isNaN(available) ? undefined : available * 1024;
}

/** A limit of one of this process's memory cgroups (itself or an ancestor), and the file of its usage. */
interface CgroupLimit {
  max: number;
  current: string;
}

/**
 * Found once, as is each limit: a process does not change cgroups in practice, limits rarely change, and
 * creating a block should cost little. Unlimited levels (most of them) are left out.
 */
let limits: CgroupLimit[] | undefined;

function cgroupLimits(): CgroupLimit[] {
  if (limits !== undefined) return limits;
  limits = [];
  let lines: string[];
  try {
    lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  } catch {
    return limits;
  }
  for (const line of lines) {
    const [, controllers, cgroup] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (cgroup === undefined) continue;
    // v2's single hierarchy ("0::/path"), or v1's memory controller ("4:memory:/path").
    const v2 = controllers === '';
    if (!v2 && !controllers.split(',').includes('memory')) continue;
    const root = v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory';
    const [max, current] = v2 ? ['memory.max', 'memory.current'] : ['memory.limit_in_bytes', 'memory.usage_in_bytes'];
    // In a container the path may name the host's hierarchy while /sys/fs/cgroup shows only the container's
    // own: every ancestor that exists is read, and the root always.
    const parts = cgroup.split('/').filter((part) => part !== '');
    for (let depth = parts.length; depth >= 0; depth--) {
      const dir = [root, ...parts.slice(0, depth)].join('/');
      const limit = readNumber(`${dir}/${max}`);
      // v1 writes "unlimited" as the largest page-aligned 63-bit number.
      if (limit < 2 ** 62) limits.push({ max: limit, current: `${dir}/${current}` });
    }
  }
  return limits;
}

/** A number from a cgroup file; NaN for "max", a missing file or anything else. */
function readNumber(file: string): number {
  try {
    const text = readFileSync(file, 'latin1').trim();
    return /^\d+$/.test(text) ? Number(text) : NaN;
  } catch {
    return NaN;
  }
}
