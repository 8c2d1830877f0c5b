/**
 * The Lua scripts the cluster runs in Redis beside BullMQ's. Each reads Redis's own clock (TIME), so that
 * hosts and pools on machines whose clocks differ agree on how long ago a host last beat.
 */
import type { Redis } from './backend';

/** Redis's clock, in ms. */
const NOW = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;

const SCRIPTS = {
  /**
   * A host's heartbeat. KEYS: hosts, host info. ARGV: host id, its info as JSON. Returns Redis's time.
   */
  forkpoolBeat: {
    keys: 2,
    lua: `${NOW}
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return now`,
  },
  /** A host leaves the registry. KEYS: hosts, host info. ARGV: host id. */
  forkpoolLeave: {
    keys: 2,
    lua: `redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`,
  },
  /**
   * A host hands a job back: it is no longer the job's host (BullMQ's moveToWait keeps the field that says
   * who took it last). KEYS: the job's hash. ARGV: host id.
   */
  forkpoolDisown: {
    keys: 1,
    lua: `if redis.call('HGET', KEYS[1], 'pb') == ARGV[1] then redis.call('HDEL', KEYS[1], 'pb') end
return 1`,
  },
  /**
   * A pool forgets the finished jobs whose outcomes it has read: their records leave Redis, as BullMQ's
   * removeOnComplete would remove them, without an event each. KEYS: the queue's completed and failed sets.
   * ARGV: the queue's job key prefix, then job ids.
   */
  forkpoolForget: {
    keys: 2,
    lua: `for i = 2, #ARGV do
  local job = ARGV[1] .. ARGV[i]
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
  redis.call('DEL', job, job .. ':logs', job .. ':forkpool-in', job .. ':forkpool-out')
end
return #ARGV - 1`,
  },
  /**
   * What a pool looks at on every tick, read at one instant. KEYS: hosts, host info, events stream. ARGV: the
   * queue's job key prefix, how long (ms) a silent host stays registered, then the ids of the jobs to read.
   *
   * Returns { now, the id of the stream's oldest entry ('' if it is empty), the id of its newest ever, { host id,
   * last beat, info }..., { job state, host, outcome }... }, a job's state one of missing, waiting, active,
   * completed, failed; its outcome the return value or the failed reason of a finished job.
   */
  forkpoolTick: {
    keys: 3,
    lua: `${NOW}
local silent = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
for i = 1, #silent do
  redis.call('ZREM', KEYS[1], silent[i])
  redis.call('HDEL', KEYS[2], silent[i])
end
local beats = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local hosts = {}
for i = 1, #beats, 2 do
  hosts[#hosts + 1] = { beats[i], beats[i + 1], redis.call('HGET', KEYS[2], beats[i]) or '' }
end
local oldest, newest = '', '0-0'
if redis.call('EXISTS', KEYS[3]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[3])
  for i = 1, #info, 2 do
    if info[i] == 'first-entry' and info[i + 1] then oldest = info[i + 1][1] end
    if info[i] == 'last-generated-id' then newest = info[i + 1] end
  end
end
local jobs = {}
for i = 3, #ARGV do
  local f = redis.call('HMGET', ARGV[1] .. ARGV[i], 'timestamp', 'pb', 'finishedOn', 'returnvalue', 'failedReason')
  local state, outcome = 'waiting', ''
  if not f[1] then state = 'missing'
  elseif f[3] and f[4] then state, outcome = 'completed', f[4]
  elseif f[3] then state, outcome = 'failed', f[5] or ''
  elseif f[2] then state = 'active' end
  jobs[#jobs + 1] = { state, f[2] or '', outcome }
end
return { now, oldest, newest, hosts, jobs }`,
  },
} as const;

type ScriptName = keyof typeof SCRIPTS;

/** A client that runs the scripts by name (EVALSHA, loading the script again after a Redis restart). */
export type ScriptClient = Redis & { [K in ScriptName]: (...args: (string | number)[]) => Promise<unknown> };

export function withScripts(client: Redis): ScriptClient {
  for (const [name, { keys, lua }] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: keys, lua });
  return client as ScriptClient;
}

/** A host as the registry lists it. */
export interface HostRecord {
  id: string;
  /** Redis's time (ms) of its last beat. */
  beat: number;
  hostname: string;
  pid: number;
  slots: number;
  busy: number;
}

export type JobState = 'missing' | 'waiting' | 'active' | 'completed' | 'failed';

export interface TickResult {
  now: number;
  /**
   * The events stream keeps its entries from this id on; those before it were trimmed away. An empty stream's
   * is the id after the newest it ever had.
   */
  oldestEventId: string;
  hosts: HostRecord[];
  /** In the order of the ids asked for. */
  jobs: Array<{ state: JobState; host: string; outcome: string }>;
}

/** Read Redis's answer to forkpoolTick. */
export function parseTick(reply: unknown): TickResult {
  const [now, oldest, newest, hosts, jobs] = reply as [number, string, string, Array<[string, string, string]>, Array<[JobState, string, string]>];
  return {
    now: Number(now),
    oldestEventId: oldest === '' ? nextEventId(newest) : oldest,
    hosts: hosts.flatMap(([id, beat, json]) => {
      try {
        const info = JSON.parse(json) as Partial<HostRecord>;
        return [{ id, beat: Number(beat), hostname: String(info.hostname), pid: Number(info.pid), slots: Number(info.slots) || 0, busy: Number(info.busy) || 0 }];
      } catch {
        // A host that registered and died before it wrote what it is: nothing to show of it.
        return [];
      }
    }),
    jobs: jobs.map(([state, host, outcome]) => ({ state, host, outcome })),
  };
}

/** The smallest stream id after `id`. */
function nextEventId(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${Number(seq) + 1}`;
}

/** Compare two stream ids (`<ms>-<seq>`): negative if `a` is older. */
export function compareEventIds(a: string, b: string): number {
  const [msA, seqA] = a.split('-').map(Number);
  const [msB, seqB] = b.split('-').map(Number);
  return msA !== msB ? msA - msB : seqA - seqB;
}
