/**
 * A chunk as a BullMQ job, and its outcome as the job's return value: what a pool writes and a host reads,
 * and back. BullMQ stores both as JSON, which would turn a Buffer into an array of numbers and drop a Map:
 * with `'advanced'` serialization the payload is Node's structured clone (v8.serialize) in base64, and
 * arrives as it left; with `'json'` it is JSON, checked first for what JSON would drop without a word.
 */
import v8 from 'node:v8';
import { withCode } from '../errors';
import { BrokenPoolError, CancelledError, PoolStateError, TimeoutError } from '../index';
import type { Serialization } from '../options';
import { unpackNumbers, type ChunkValues } from '../shared/packing';
import type { TaskSpec } from '../shared/protocol';
import { findUnsendable, unsendableError } from '../shared/sendable';
import { scan } from '../shared/value-codec';
import { fromWireError, toWireError, type ErrorClasses, type WireError } from '../shared/wire-error';

/** Bumped when a job's data or result changes shape: a host of another release fails the job rather than misread it. */
export const JOB_FORMAT = 1;

/** The name every job of the cluster has in BullMQ (dashboards show it). */
export const JOB_NAME = 'forkpool';

/** How a host finds the function: a name in its own module, an export of a module, or a function's source. */
export type WireSpec =
  /** `module` absent: an export of the host's own `--module`. */
  | { kind: 'module'; name: string; module?: string }
  | { kind: 'inline'; name: string; source: string };

/** What a chunk's job carries, in its body. */
export interface ChunkPayload {
  spec: WireSpec;
  /** One input per call of the chunk: its argument, or with `spread` its argument list. */
  inputs: ChunkValues;
  spread: boolean;
  /** Ms the chunk may run on its host, from the moment a child begins it. */
  timeout: number | undefined;
  /** Run every call of the chunk even after one fails (imapUnordered), to hand out those that succeed. */
  keepGoing: boolean;
}

/** A job's data as BullMQ stores it: the settings a host reads before the body, and the body as text. */
export interface JobData {
  forkpool: number;
  encoding: Serialization;
  /** The host beats at least four times within it while it runs the chunk. */
  hostLossTimeout: number;
  /** The largest result the host may send back. */
  maxPayloadBytes: number;
  /** The {@link ChunkPayload}, encoded. */
  body: string;
}

/** How a chunk ended on its host. */
export type ChunkOutcome =
  | { values: ChunkValues }
  /**
   * `index`: the call of the chunk that failed; `done`: the results of the calls that succeeded, in order.
   * `poolError`: the name of the pool's own error class it is.
   */
  | { error: WireError; index?: number; done?: ChunkValues; poolError?: string }
  /** Not run, or stopped: its pool gave it up (a cancel, an abort, a requeue), so nobody reads its outcome. */
  | { dropped: true };

/** A job's return value as BullMQ stores it. */
export interface JobResult {
  forkpool: number;
  encoding: Serialization;
  body: string;
}

/** The cluster's form of a task's spec: a name of the pool's module is a name of the host's. */
export function wireSpec(spec: TaskSpec, hostModule: string): WireSpec {
  if (spec.kind === 'inline') return { kind: 'inline', name: spec.name, source: spec.source };
  return spec.module === hostModule ? { kind: 'module', name: spec.name } : { kind: 'module', name: spec.name, module: spec.module };
}

/**
 * Encode a chunk for its job.
 * @throws TypeError (`ERR_POOL_UNSENDABLE`) for an argument that cannot be sent, RangeError
 * (`ERR_POOL_PAYLOAD_TOO_LARGE`) for arguments over the limit.
 */
export function encodeChunk(payload: ChunkPayload, settings: Omit<JobData, 'forkpool' | 'body'>, argumentsLimit: number): JobData {
  const body = encode(payload, settings.encoding, 'The task arguments', argumentsLimit, 'inputs');
  return { forkpool: JOB_FORMAT, ...settings, body };
}

/** @throws Error for a job this release cannot read. */
export function decodeChunk(data: unknown): { payload: ChunkPayload; data: JobData } {
  const job = data as Partial<JobData> | null;
  if (job?.forkpool !== JOB_FORMAT || typeof job.body !== 'string') {
    const found = JSON.stringify(job?.forkpool);
    const message =
      `This host cannot read the job: it is not a chunk of forkpool's job format ${JOB_FORMAT} (found ${found}). ` +
      'A pool and its hosts must run the same release of forkpool.';
    throw withCode(new Error(message), 'ERR_POOL_JOB_FORMAT');
  }
  return { payload: decode(job.body, job.encoding ?? 'advanced') as ChunkPayload, data: job as JobData };
}

/** Encode a chunk's outcome for its job's return value; a result that cannot go back becomes its task's error. */
export function encodeOutcome(outcome: ChunkOutcome, encoding: Serialization, limit: number): JobResult {
  let body: string;
  try {
    body = encode(outcome, encoding, 'The task result', limit, 'values' in outcome ? 'values' : 'done' in outcome && outcome.done !== undefined ? 'done' : undefined);
  } catch (error) {
    body = encode({ error: toWireError(error) }, encoding, 'The task error', Infinity);
  }
  return { forkpool: JOB_FORMAT, encoding, body };
}

/** @throws Error for a return value that is not a chunk's outcome. */
export function decodeOutcome(result: unknown): ChunkOutcome {
  const job = result as Partial<JobResult> | null;
  if (job?.forkpool !== JOB_FORMAT || typeof job.body !== 'string') {
    const message = `The job's result is not in forkpool's job format ${JOB_FORMAT}: a host of another release of forkpool ran it.`;
    throw withCode(new Error(message), 'ERR_POOL_JOB_FORMAT');
  }
  return decode(job.body, job.encoding ?? 'advanced') as ChunkOutcome;
}

/** A value a task sent with `emit()` on a host, as the job's progress. */
export function encodeEvent(value: unknown, info: { host: string; pid: number }, encoding: Serialization): JobResult {
  return { forkpool: JOB_FORMAT, encoding, body: encode({ value, ...info }, encoding, 'The event', Infinity, 'value') };
}

export function decodeEvent(progress: unknown): { value: unknown; host: string; pid: number } {
  const job = progress as Partial<JobResult> | null;
  if (job?.forkpool !== JOB_FORMAT || typeof job.body !== 'string') throw new Error('Not an event of forkpool.');
  return decode(job.body, job.encoding ?? 'advanced') as { value: unknown; host: string; pid: number };
}

/**
 * The error of a failed chunk, as its task rejects with it: a pool error of the host's as the same class
 * here, a class of the pool's `errorClasses` as itself.
 */
export function outcomeError(outcome: { error: WireError; poolError?: string }, classes: ErrorClasses): Error {
  const error = fromWireError(outcome.error, classes);
  const kind = outcome.poolError === undefined ? undefined : POOL_ERRORS[outcome.poolError];
  // Its own properties (code, timeout, pid, exitCode, signal) crossed with it; only the class is missing.
  if (kind !== undefined && error.name === outcome.poolError) Object.setPrototypeOf(error, kind.prototype);
  return error;
}

/** A task's error as a chunk's outcome, the pool's own classes named so that the caller rebuilds them. */
export function errorOutcome(error: unknown, index?: number, done?: ChunkValues): ChunkOutcome {
  return { error: toWireError(error), index, done, poolError: poolErrorName(error) };
}

/** The pool's own error classes whose instances a host sends back as themselves, by name, and their codes. */
const POOL_ERRORS: Record<string, abstract new (...args: never[]) => Error> = {
  BrokenPoolError,
  TimeoutError,
  CancelledError,
  PoolStateError,
};
const POOL_ERROR_CODES: Record<string, string> = {
  BrokenPoolError: 'ERR_POOL_BROKEN',
  TimeoutError: 'ERR_POOL_TIMEOUT',
  CancelledError: 'ERR_POOL_CANCELLED',
  PoolStateError: 'ERR_POOL_STATE',
};

/**
 * The name of the pool error class `error` is an instance of, or undefined. Told by its name and its code
 * rather than by `instanceof`: a host's engine may be a copy of the library other than the one that exports
 * these classes (the bundle of forkpool/cluster carries its own engine).
 */
function poolErrorName(error: unknown): string | undefined {
  if (!(error instanceof Error) || !Object.hasOwn(POOL_ERROR_CODES, error.name)) return undefined;
  return (error as Error & { code?: unknown }).code === POOL_ERROR_CODES[error.name] ? error.name : undefined;
}

/**
 * `value` as text, checked: what the serialization cannot carry is a TypeError naming it, a body over
 * `limit` bytes a RangeError naming both. `field`: the property of `value` that holds the user's values (the
 * rest is the cluster's own), checked with its name in the report.
 */
function encode(value: object, encoding: Serialization, what: string, limit: number, field?: keyof typeof USER_VALUES): string {
  let values = field === undefined ? undefined : (value as Record<string, unknown>)[field];
  // JSON would write a packed chunk (a Float64Array) as an object of indices.
  if (encoding === 'json' && (values instanceof Float64Array || Array.isArray(values))) {
    values = unpackNumbers(values as ChunkValues);
    value = { ...value, [field!]: values };
  }
  const problem = values === undefined ? undefined : findUnsendable(values, encoding, USER_VALUES[field!]);
  if (problem !== undefined) throw unsendableError(what, problem);
  if (values !== undefined && (scan(values, { serialization: encoding, outOfBand: false })?.blocks.length ?? 0) > 0) {
    // Its pages are this machine's: a host elsewhere has no way to them.
    throw unsendableError(what, 'a SharedMemory block is shared between the processes of one machine, and cannot reach a host. Send its bytes (a Buffer of its contents) instead');
  }
  let bytes: number;
  let body: string;
  if (encoding === 'json') {
    body = JSON.stringify(value);
    bytes = Buffer.byteLength(body);
  } else {
    let buffer: Buffer;
    try {
      buffer = v8.serialize(value);
    } catch (error) {
      throw unsendableError(what, (error as Error).message, error);
    }
    bytes = buffer.length;
    body = buffer.toString('base64');
  }
  if (bytes > limit) throw payloadTooLarge(what, bytes, limit);
  return body;
}

/** Where the user's values are in what is encoded, and what a report calls them. */
const USER_VALUES = { inputs: 'arguments', values: 'result', done: 'result', value: 'event' } as const;

function decode(body: string, encoding: Serialization): unknown {
  return encoding === 'json' ? JSON.parse(body) : v8.deserialize(Buffer.from(body, 'base64'));
}

/** The RangeError of a chunk whose arguments or result are larger than `maxPayloadBytes`. */
function payloadTooLarge(what: string, bytes: number, limit: number): RangeError {
  return withCode(
    new RangeError(
      `${what} take ${formatBytes(bytes)} serialized, more than the pool's maxPayloadBytes of ${formatBytes(limit)}. ` +
        'Use smaller chunks (chunksize), raise maxPayloadBytes, or pass large data by reference (a path, a key in a store).',
    ),
    'ERR_POOL_PAYLOAD_TOO_LARGE',
  );
}

function formatBytes(bytes: number): string {
  return bytes >= 2 ** 20 ? `${bytes} bytes (${(bytes / 2 ** 20).toFixed(1)} MiB)` : `${bytes} bytes`;
}
