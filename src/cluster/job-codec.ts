/**
 * Chunks as a BullMQ job, and their outcomes as the job's return value: what a pool writes and a host reads,
 * and back. A job carries one chunk or several of one call (a pack), each chunk's values encoded on its own,
 * so that one that cannot be sent, or is too large, fails its own task alone. BullMQ stores a job's data and
 * result as JSON, which would turn a Buffer into an array of numbers and drop a Map: with `'advanced'`
 * serialization a chunk's values are Node's structured clone (v8.serialize) and arrive as they left; with
 * `'json'` they are JSON, checked first for what JSON would drop without a word.
 *
 * The values travel as bytes, framed: inside the job's data (base64) while they are small, else in a Redis
 * key of the job's own, as they are. Large bodies written as JSON strings cost every process on their way
 * (BullMQ stringifies a result twice, Redis copies it into its events stream, every pool reading the stream
 * parses it) several times what the bytes themselves do.
 */
import v8 from 'node:v8';
import { withCode } from '../errors';
import { BackendError } from './cluster-errors';
import { BrokenPoolError, CancelledError, PoolStateError, TimeoutError } from '../index';
import type { Serialization } from '../options';
import { unpackNumbers, type ChunkValues } from '../shared/packing';
import type { TaskSpec } from '../shared/protocol';
import { findUnsendable, unsendableError } from '../shared/sendable';
import { scan } from '../shared/value-codec';
import { fromWireError, toWireError, type ErrorClasses, type WireError } from '../shared/wire-error';

/** Bumped when a job's data or result changes shape: a host of another release fails the job rather than misread it. */
export const JOB_FORMAT = 2;

/** The name every job of the cluster has in BullMQ (dashboards show it). */
export const JOB_NAME = 'forkpool';

/**
 * How long (s) Redis keeps what a job leaves (its record, its inputs and outcomes) that no pool removed: its
 * pool removes what it has read; this bounds what a pool that died first leaves behind.
 */
export const RECORD_TTL_S = 3600;

/** A job's inputs or outcomes up to this many bytes travel inside its data or result; larger ones in a key of their own. */
export const INLINE_BYTES = 8 * 1024;

/** How a host finds the function: a name in its own module, an export of a module, or a function's source. */
export type WireSpec =
  /** `module` absent: an export of the host's own `--module`. */
  | { kind: 'module'; name: string; module?: string }
  | { kind: 'inline'; name: string; source: string };

/** What the chunks of a job share: the settings of their call. */
export interface ChunkSettings {
  spec: WireSpec;
  /** Each input of a chunk is its call's argument list rather than its argument. */
  spread: boolean;
  /** Ms a chunk may run on its host, from the moment a child begins it. */
  timeout: number | undefined;
  /** Run every call of a chunk even after one fails (imapUnordered), to hand out those that succeed. */
  keepGoing: boolean;
}

/** A job's data as BullMQ stores it. */
export interface JobData extends ChunkSettings {
  forkpool: number;
  encoding: Serialization;
  /** The host beats at least four times within it while it runs the job. */
  hostLossTimeout: number;
  /** The largest result of a chunk the host may send back. */
  maxPayloadBytes: number;
  /** How many chunks the job carries. */
  chunks: number;
  /** The chunks' inputs, framed, in base64; absent when they are in the job's input key. */
  body?: string;
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
  /** Ms from the moment the host took the job to the end of its last chunk: what packs are sized by. */
  ms: number;
  /** The chunks' outcomes, framed, in base64; absent when they are in the job's output key. */
  body?: string;
}

/** A job's data or result, and the bytes that go to a key of the job's own when they are too many to go with it. */
export interface Encoded<T> {
  value: T;
  outOfBand: Buffer | undefined;
}

/** The cluster's form of a task's spec: a name of the pool's module is a name of the host's. */
export function wireSpec(spec: TaskSpec, hostModule: string): WireSpec {
  if (spec.kind === 'inline') return { kind: 'inline', name: spec.name, source: spec.source };
  return spec.module === hostModule ? { kind: 'module', name: spec.name } : { kind: 'module', name: spec.name, module: spec.module };
}

/**
 * Encode one chunk's inputs.
 * @throws TypeError (`ERR_POOL_UNSENDABLE`) for an argument that cannot be sent, RangeError
 * (`ERR_POOL_PAYLOAD_TOO_LARGE`) for arguments over the limit.
 */
export function encodeInputs(inputs: ChunkValues, encoding: Serialization, limit: number): Part {
  return encode({ inputs }, encoding, 'The task arguments', limit, 'inputs');
}

/** A job of chunks whose inputs `encodeInputs` encoded. */
export function encodeJob(settings: Omit<JobData, 'forkpool' | 'chunks' | 'body'>, inputs: Part[]): Encoded<JobData> {
  const { body, outOfBand } = place(frame(inputs));
  return { value: { forkpool: JOB_FORMAT, ...settings, chunks: inputs.length, body }, outOfBand };
}

/** @throws Error (`ERR_POOL_JOB_FORMAT`) for a job this release cannot read. */
export function readJob(data: unknown): JobData {
  const job = data as Partial<JobData> | null;
  if (job?.forkpool !== JOB_FORMAT || !Number.isInteger(job.chunks) || job.spec === undefined) {
    const found = JSON.stringify(job?.forkpool);
    const message =
      `This host cannot read the job: it is not in forkpool's job format ${JOB_FORMAT} (found ${found}). ` +
      'A pool and its hosts must run the same release of forkpool.';
    throw withCode(new Error(message), 'ERR_POOL_JOB_FORMAT');
  }
  return job as JobData;
}

/** The inputs of each chunk of `job`; `outOfBand`: the bytes of its input key, when its data holds no body. */
export function jobInputs(job: JobData, outOfBand: Buffer | null | undefined): ChunkValues[] {
  const parts = unframe(bytesOf(job.body, outOfBand, "the job's inputs"), job.chunks);
  return parts.map((part) => (decode(part, job.encoding) as { inputs: ChunkValues }).inputs);
}

/** Encode a chunk's outcome; a result that cannot go back becomes its task's error. */
export function encodeOutcome(outcome: ChunkOutcome, encoding: Serialization, limit: number): Part {
  try {
    return encode(outcome, encoding, 'The task result', limit, 'values' in outcome ? 'values' : 'done' in outcome && outcome.done !== undefined ? 'done' : undefined);
  } catch (error) {
    return encode({ error: toWireError(error) }, encoding, 'The task error', Infinity);
  }
}

/** A job's return value: the outcomes `encodeOutcome` encoded, one per chunk of the job. */
export function encodeResult(outcomes: Part[], encoding: Serialization, ms: number): Encoded<JobResult> {
  const { body, outOfBand } = place(frame(outcomes));
  return { value: { forkpool: JOB_FORMAT, encoding, ms, body }, outOfBand };
}

/** @throws Error (`ERR_POOL_JOB_FORMAT`) for a return value that is not a job's result. */
export function readResult(result: unknown): JobResult {
  const job = result as Partial<JobResult> | null;
  if (job?.forkpool !== JOB_FORMAT || typeof job.ms !== 'number') {
    const message = `The job's result is not in forkpool's job format ${JOB_FORMAT}: a host of another release of forkpool ran it.`;
    throw withCode(new Error(message), 'ERR_POOL_JOB_FORMAT');
  }
  return job as JobResult;
}

/** The outcome of each of `chunks` chunks; `outOfBand`: the bytes of the job's output key, when its result holds no body. */
export function resultOutcomes(result: JobResult, chunks: number, outOfBand: Buffer | null | undefined): ChunkOutcome[] {
  return unframe(bytesOf(result.body, outOfBand, "the job's outcomes"), chunks).map((part) => decode(part, result.encoding) as ChunkOutcome);
}

/** A value a task sent with `emit()` on a host, as its job's progress; `chunk`: which chunk of the job. */
export function encodeEvent(value: unknown, info: { host: string; pid: number; chunk: number }, encoding: Serialization): JobResult {
  const bytes = encode({ value, ...info }, encoding, 'The event', Infinity, 'value') as Buffer;
  return { forkpool: JOB_FORMAT, encoding, ms: 0, body: bytes.toString('base64') };
}

export function decodeEvent(progress: unknown): { value: unknown; host: string; pid: number; chunk: number } {
  const job = progress as Partial<JobResult> | null;
  if (job?.forkpool !== JOB_FORMAT || typeof job.body !== 'string') throw new Error('Not an event of forkpool.');
  return decode(Buffer.from(job.body, 'base64'), job.encoding ?? 'advanced') as { value: unknown; host: string; pid: number; chunk: number };
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
 * `value` as bytes, checked: what the serialization cannot carry is a TypeError naming it, a body over
 * `limit` bytes a RangeError naming both. `field`: the property of `value` that holds the user's values (the
 * rest is the cluster's own), checked with its name in the report.
 */
function encode(value: object, encoding: Serialization, what: string, limit: number, field?: keyof typeof USER_VALUES): Part {
  let values = field === undefined ? undefined : (value as Record<string, unknown>)[field];
  const raw = field === undefined ? undefined : RAW_TAGS[field as keyof typeof RAW_TAGS];
  if (encoding === 'advanced' && raw !== undefined && values instanceof Float64Array && Object.keys(value).length === 1) {
    const part = new RawNumbers(raw, values);
    if (part.length > limit) throw payloadTooLarge(what, part.length, limit);
    return part;
  }
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
  let bytes: Buffer;
  if (encoding === 'json') {
    bytes = Buffer.from(JSON.stringify(value));
  } else {
    try {
      bytes = v8.serialize(value);
    } catch (error) {
      throw unsendableError(what, (error as Error).message, error);
    }
  }
  if (bytes.length > limit) throw payloadTooLarge(what, bytes.length, limit);
  return bytes;
}

/** Where the user's values are in what is encoded, and what a report calls them. */
const USER_VALUES = { inputs: 'arguments', values: 'result', done: 'result', value: 'event' } as const;

function decode(bytes: Buffer, encoding: Serialization): unknown {
  if (bytes[0] === RAW_TAGS.inputs) return { inputs: numbersOf(bytes) };
  if (bytes[0] === RAW_TAGS.values) return { values: numbersOf(bytes) };
  return encoding === 'json' ? JSON.parse(bytes.toString()) : v8.deserialize(bytes);
}

/**
 * The first byte of a chunk's inputs or results that are numbers only (packed, a Float64Array), which travel
 * as their bytes: nothing to check and nothing to serialize. Neither v8.serialize (0xff) nor JSON ('{')
 * begins with it.
 */
const RAW_TAGS = { inputs: 1, values: 2 } as const;
/** The tag, and padding: the numbers that follow are as aligned as the part (a Float64Array needs 8). */
const RAW_HEADER = 8;
const ALIGN = 8;

/** A chunk's values as they travel: bytes, or numbers only, written into the frame as they are. */
export type Part = Buffer | RawNumbers;

class RawNumbers {
  constructor(
    readonly tag: number,
    readonly numbers: Float64Array,
  ) {}

  /** Its bytes in a frame. */
  get length(): number {
    return RAW_HEADER + this.numbers.byteLength;
  }

  writeTo(target: Buffer, offset: number): void {
    target[offset] = this.tag;
    target.set(new Uint8Array(this.numbers.buffer, this.numbers.byteOffset, this.numbers.byteLength), offset + RAW_HEADER);
  }
}

/** The numbers of a part `RawNumbers` wrote: a view of its bytes where they are aligned, else a copy. */
function numbersOf(bytes: Buffer): Float64Array {
  const count = (bytes.length - RAW_HEADER) / 8;
  const offset = bytes.byteOffset + RAW_HEADER;
  if (offset % 8 === 0) return new Float64Array(bytes.buffer, offset, count);
  const numbers = new Float64Array(count);
  new Uint8Array(numbers.buffer).set(bytes.subarray(RAW_HEADER));
  return numbers;
}

const aligned = (bytes: number) => Math.ceil(bytes / ALIGN) * ALIGN;

/**
 * Parts as one buffer: their count and lengths (32-bit, little-endian), then the parts, each at an offset
 * that is a multiple of 8. `unframe` hands them back as views of it, uncopied.
 */
function frame(parts: Part[]): Buffer {
  const header = aligned(4 * (parts.length + 1));
  let total = header;
  for (const part of parts) total += aligned(part.length);
  // Zeroed: the padding goes to Redis, and must not carry what this process's memory held.
  const bytes = Buffer.alloc(total);
  bytes.writeUInt32LE(parts.length, 0);
  let offset = header;
  parts.forEach((part, i) => {
    bytes.writeUInt32LE(part.length, 4 * (i + 1));
    if (part instanceof RawNumbers) part.writeTo(bytes, offset);
    else bytes.set(part, offset);
    offset += aligned(part.length);
  });
  return bytes;
}

/** The parts `frame` wrote; `count`: how many there must be. */
function unframe(bytes: Buffer, count: number): Buffer[] {
  const corrupt = () => withCode(new Error(`A job's body is corrupt: expected ${count} framed parts in ${bytes.length} bytes.`), 'ERR_POOL_JOB_FORMAT');
  const header = aligned(4 * (count + 1));
  if (bytes.length < header || bytes.readUInt32LE(0) !== count) throw corrupt();
  const parts: Buffer[] = [];
  let offset = header;
  for (let i = 0; i < count; i++) {
    const length = bytes.readUInt32LE(4 * (i + 1));
    if (offset + length > bytes.length) throw corrupt();
    parts.push(bytes.subarray(offset, offset + length));
    offset += aligned(length);
  }
  return parts;
}

/** Small bytes go inline, in base64; the rest out of band. */
function place(bytes: Buffer): { body: string | undefined; outOfBand: Buffer | undefined } {
  return bytes.length <= INLINE_BYTES ? { body: bytes.toString('base64'), outOfBand: undefined } : { body: undefined, outOfBand: bytes };
}

/** The bytes of a body: inline, or those read from its key (null: the key is gone). */
function bytesOf(body: string | undefined, outOfBand: Buffer | null | undefined, what: string): Buffer {
  if (body !== undefined) return Buffer.from(body, 'base64');
  if (outOfBand == null) throw new BackendError(`Redis no longer holds ${what}: it restarted without its data, or someone removed its key.`);
  return outOfBand;
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
