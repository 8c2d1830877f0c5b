/**
 * What a value becomes on its way to another worker or back, beyond what the channel's serialization does:
 *
 * - A `SharedMemory` anywhere in it travels as its description, and arrives as a `SharedMemory` over the same
 *   pages (or, in copy mode, with its bytes).
 * - Where the channel is a pipe (`outOfBand`), a large binary part (a Buffer, a typed array, an ArrayBuffer)
 *   travels through a segment (segment.ts): a nameless file the reader maps, so that only a reference goes
 *   through the pipe, and the bytes are copied once, by the writer, into memory the reader maps as they are.
 *   A value that is large without binary parts (a long array of objects) is serialized into the segment whole.
 *
 * - Where the channel delivers a Buffer as a plain Uint8Array (a thread's `postMessage`, `buffersAsBytes`),
 *   each Buffer travels in the message under a marker that says so, and arrives as a Buffer over the same
 *   bytes (moved, where the call's transfer list names its ArrayBuffer).
 *
 * The value that goes through the channel has markers in place of what travels apart, and comes in an
 * Envelope that says where the bytes are. A value with nothing to do is sent as it is: a tiny call pays one
 * look at its arguments.
 *
 *     scan(value) ─▶ { blocks, parts, size }                          (once: a task's, at its submission)
 *     encode(value, scan) ─▶ { envelope: { value with markers, segment, serialized }, blocks }
 *     decode(envelope) ─▶ { value, blocks }     (the reader holds its bytes now; the writer may closeEncoding())
 */
import { types } from 'node:util';
import { SharedMemory, type BlockDescription } from './shared-memory';
import type { Serialization } from '../options';
import { closeSegment, readSegment, segmentsAvailable, writeSegment, type SegmentRef } from './segment';
import { isSmallFlatArray } from './sendable';

/**
 * A binary part at least this large travels apart (FORKPOOL_OUT_OF_BAND_BYTES sets another size, for
 * measuring). Below it the pipe wins: a segment's pages are allocated, zeroed, faulted in and freed each
 * time, about as much work as the pipe's copies, which only fall behind as a message grows to several MiB
 * (bench/out-of-band.ts measures where the two cross; bench/results/out-of-band.md has a run).
 */
export const OUT_OF_BAND_BYTES = Number(process.env.FORKPOOL_OUT_OF_BAND_BYTES) || 8 * 2 ** 20;

/** The key of a marker: an object with it stands for something that travels apart. */
const MARK = '@@forkpool/value';

/** Marks a Buffer that travels in the message, to be a Buffer again where it arrives (`buffersAsBytes`). */
interface BufferMark {
  [MARK]: 'buffer';
  /** The Buffer, which the channel turns into a Uint8Array over the same bytes. */
  bytes: Uint8Array;
}

/** Marks where bytes of the segment go back: a binary part, or a copy-mode block's contents. */
interface BytesMark {
  [MARK]: 'bytes';
  at: number;
  length: number;
  /** The binary part's type: `Buffer`, `ArrayBuffer`, a typed array's or DataView's constructor name. */
  type: string;
}

interface BlockMark {
  [MARK]: 'block';
  block: BlockDescription;
  /** Copy mode: where its contents are in the segment; undefined when they travel in the message. */
  at?: number;
  /** Copy mode, in the message: the contents themselves (as base64 under JSON, which has no bytes). */
  bytes?: Uint8Array | string;
}

/** A value as the channel carries it, with what travels apart. */
export interface Envelope {
  /** The value with markers in place of what travels apart; undefined when it is serialized into the segment. */
  value: unknown;
  segment?: SegmentRef;
  /** Where the value itself is, serialized, in the segment. */
  serialized?: { at: number; length: number };
  /** Whether the value has markers to replace: not when it is only large. */
  marked?: true;
}

/** What encoding a value made: what to send, and what the sender keeps until the other side has it. */
export interface Encoding {
  envelope: Envelope;
  /** The SharedMemory blocks the value carries. */
  blocks: SharedMemory[];
}

export interface EncodeOptions {
  serialization: Serialization;
  /** Whether large parts may travel through segments: between processes on Linux. */
  outOfBand: boolean;
  /** Whether the channel delivers a Buffer as a plain Uint8Array (postMessage), so that Buffers travel marked. */
  buffersAsBytes?: boolean;
}

/** Segments reach across processes only where /proc/<pid>/fd does: elsewhere everything goes in band. */
export function outOfBandAvailable(): boolean {
  return segmentsAvailable();
}

/** Whether `value` could hold anything to encode: a quick look that spares the tiny calls a walk. */
function trivial(value: unknown): boolean {
  return typeof value !== 'object' || value === null || types.isFloat64Array(value) || isSmallFlatArray(value);
}

/** What a first look at a value found: what encoding it would need. */
export interface ScanResult {
  /** The SharedMemory blocks it carries. */
  blocks: SharedMemory[];
  /** Its binary parts that travel apart, and their bytes. */
  parts: number;
  partBytes: number;
  /** About how many bytes it serializes to. */
  size: number;
}

/**
 * A first look at `value`, with no copy: the blocks it carries and what of it would travel apart. Undefined
 * for a value that needs nothing for sure (most argument lists: a few primitives), or that cannot be read
 * (a proxy or a getter that throws: the channel refuses it or takes it as it can).
 */
export function scan(value: unknown, options: EncodeOptions): ScanResult | undefined {
  if (trivial(value)) return undefined;
  const walk = new Scan(options);
  try {
    walk.visit(value);
  } catch {
    return undefined;
  }
  // What it found, not the walk itself, which holds every object of the value.
  const { blocks, parts, partBytes, size } = walk;
  return { blocks, parts, partBytes, size };
}

/**
 * The value ready for the channel, or undefined when it needs nothing (send it as it is), from the scan of
 * it (made here if not given). The segment, if one was written, stays open until `closeEncoding`: the reader
 * opens it through this process.
 * @throws the system's error when a segment cannot be written anywhere (no memory, no descriptors).
 */
export function encode(value: unknown, options: EncodeOptions, found: ScanResult | undefined = scan(value, options)): Encoding | undefined {
  if (found === undefined) return undefined;
  const whole = options.outOfBand && found.size - found.partBytes >= OUT_OF_BAND_BYTES;
  const marks = found.blocks.length > 0 || found.parts > 0;
  if (!marks && !whole) return undefined;
  const marking = new Marking(options);
  const envelope: Envelope = marks ? { value: marking.visit(value), marked: true } : { value };
  if (whole) {
    // Large without (only) binary parts: the whole value, markers and all, goes into the segment.
    const bytes = serialize(envelope.value, options.serialization);
    envelope.serialized = { at: marking.reserve(bytes), length: bytes.byteLength };
    envelope.value = undefined;
  }
  if (marking.parts.length > 0) envelope.segment = writeSegment(marking.chunks());
  return { envelope, blocks: found.blocks };
}

/** The sender is done with an encoding: the reader has its segment, or never will. */
export function closeEncoding(encoding: Encoding): void {
  if (encoding.envelope.segment !== undefined) closeSegment(encoding.envelope.segment);
}

/** What decoding gave: the value, and the blocks it carried, attached here. */
export interface Decoded {
  value: unknown;
  blocks: SharedMemory[];
}

/**
 * The value an envelope carries, its markers replaced: binary parts over the segment's bytes (mapped: no
 * copy), blocks attached (the same pages) or, in copy mode, filled with their contents.
 * @throws ERR_POOL_SEGMENT_GONE when the writer no longer holds the segment; ERR_POOL_SHARED_MEMORY_ATTACH
 * when a block's holder no longer holds it.
 */
export function decode(envelope: Envelope, serialization: Serialization): Decoded {
  const bytes = envelope.segment === undefined ? undefined : readSegment(envelope.segment);
  let value = envelope.value;
  if (envelope.serialized !== undefined) {
    const { at, length } = envelope.serialized;
    value = deserialize(bytes!.subarray(at, at + length), serialization);
  }
  const blocks: SharedMemory[] = [];
  return { value: envelope.marked ? restore(value, bytes, blocks, new Map()) : value, blocks };
}

/**
 * What structured clone copies property by property, and so what can hold a block or a binary part: arrays,
 * Maps, Sets, and objects other than the few it keeps as they are (a Date, a RegExp, an Error...).
 */
function isContainer(value: object): boolean {
  return !(types.isDate(value) || types.isRegExp(value) || types.isNativeError(value) || types.isBoxedPrimitive(value));
}

/** A first look, with no copy: the blocks a value carries, its binary parts big enough to travel apart, its size. */
class Scan implements ScanResult {
  readonly blocks: SharedMemory[] = [];
  /** Binary parts that travel apart, and their bytes. */
  parts = 0;
  partBytes = 0;
  /** About how many bytes the value serializes to. */
  size = 0;
  readonly #options: EncodeOptions;
  readonly #seen = new Set<object>();

  constructor(options: EncodeOptions) {
    this.#options = options;
  }

  visit(value: unknown): void {
    if (typeof value === 'string') {
      this.size += value.length;
      return;
    }
    if (typeof value !== 'object' || value === null) {
      this.size += 9;
      return;
    }
    if (this.#seen.has(value)) return;
    this.#seen.add(value);
    if (value instanceof SharedMemory) {
      this.blocks.push(value);
      if (!value.shared) {
        this.size += value.size;
        if (travelsApart(value.size, this.#options)) this.partBytes += value.size;
      }
      return;
    }
    if (ArrayBuffer.isView(value) || types.isArrayBuffer(value)) {
      this.size += value.byteLength;
      if (travelsApart(value.byteLength, this.#options) || (this.#options.buffersAsBytes === true && Buffer.isBuffer(value))) {
        this.parts++;
        this.partBytes += value.byteLength;
      }
      return;
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) this.visit(value[i]);
    } else if (types.isMap(value)) {
      for (const [key, item] of value) {
        this.visit(key);
        this.visit(item);
      }
    } else if (types.isSet(value)) {
      for (const item of value) this.visit(item);
    } else if (isContainer(value)) {
      for (const key of Object.keys(value)) {
        this.size += key.length;
        this.visit((value as Record<string, unknown>)[key]);
      }
    }
  }
}

/**
 * The value's copy with markers in place of its blocks and of its binary parts that travel apart, made once
 * the scan found some. Every container is copied (the copy is the sender's to send, and the receiver's to
 * keep), each once: shared references and cycles stay as they were.
 */
class Marking {
  /** Bytes for the segment, in order, each at an offset aligned for any typed array. */
  readonly parts: Uint8Array[] = [];
  #offset = 0;
  readonly #options: EncodeOptions;
  readonly #copies = new Map<object, unknown>();

  constructor(options: EncodeOptions) {
    this.#options = options;
  }

  /** Put `bytes` in the segment: their offset. */
  reserve(bytes: Uint8Array): number {
    const at = this.#offset;
    this.parts.push(bytes);
    this.#offset = align(at + bytes.byteLength);
    return at;
  }

  /** The segment's bytes, padding included. */
  chunks(): Uint8Array[] {
    const chunks: Uint8Array[] = [];
    let at = 0;
    for (const part of this.parts) {
      chunks.push(part);
      at += part.byteLength;
      const pad = align(at) - at;
      if (pad > 0) chunks.push(new Uint8Array(pad));
      at += pad;
    }
    return chunks;
  }

  visit(value: unknown): unknown {
    if (typeof value !== 'object' || value === null) return value;
    const copied = this.#copies.get(value);
    if (copied !== undefined) return copied;
    if (value instanceof SharedMemory) return this.#keep(value, this.#block(value));
    if (ArrayBuffer.isView(value) || types.isArrayBuffer(value)) return this.#keep(value, this.#binary(value));
    if (Array.isArray(value)) {
      const copy: unknown[] = this.#keep(value, new Array(value.length));
      for (let i = 0; i < value.length; i++) copy[i] = this.visit(value[i]);
      return copy;
    }
    if (types.isMap(value)) {
      const copy = this.#keep(value, new Map());
      for (const [key, item] of value) copy.set(this.visit(key), this.visit(item));
      return copy;
    }
    if (types.isSet(value)) {
      const copy = this.#keep(value, new Set());
      for (const item of value) copy.add(this.visit(item));
      return copy;
    }
    if (!isContainer(value)) return value;
    // Structured clone makes a plain object of any other object too.
    const copy: Record<string, unknown> = this.#keep(value, {});
    for (const key of Object.keys(value)) copy[key] = this.visit((value as Record<string, unknown>)[key]);
    return copy;
  }

  #keep<T>(original: object, copy: T): T {
    this.#copies.set(original, copy);
    return copy;
  }

  #block(block: SharedMemory): BlockMark {
    const description = block.describe();
    if (description.kind === 'shared') return { [MARK]: 'block', block: description };
    // Copy mode: its contents travel, apart when they are large.
    const bytes = block.bytes();
    if (travelsApart(bytes.byteLength, this.#options)) return { [MARK]: 'block', block: description, at: this.reserve(bytes) };
    const contents = this.#options.serialization === 'json' ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') : bytes.slice();
    return { [MARK]: 'block', block: description, bytes: contents };
  }

  #binary(value: ArrayBufferView | ArrayBuffer): unknown {
    if (!travelsApart(value.byteLength, this.#options)) {
      if (this.#options.buffersAsBytes !== true || !Buffer.isBuffer(value)) return value;
      const mark: BufferMark = { [MARK]: 'buffer', bytes: value };
      return mark;
    }
    const bytes = types.isArrayBuffer(value) ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    const mark: BytesMark = { [MARK]: 'bytes', at: this.reserve(bytes), length: bytes.byteLength, type: binaryType(value) };
    return mark;
  }
}

/** Bytes of a block that a worker holding it in copy mode changed: where, and what they are now. */
export interface BlockPatch {
  id: string;
  at: number;
  bytes: Uint8Array;
}

/** Runs of unchanged bytes shorter than this join the changes around them: fewer, larger patches. */
const PATCH_GAP = 64;

/**
 * What changed in `block` since `before`, its contents as they arrived: the patches that bring the caller's
 * block up to date. Only changed bytes travel back, so that tasks writing apart in one block (a map over its
 * halves) do not undo each other's writes.
 */
export function diffBlock(block: SharedMemory, before: Uint8Array): BlockPatch[] {
  const after = block.bytes();
  const patches: BlockPatch[] = [];
  const words = after.byteLength >>> 2;
  const a = new Uint32Array(after.buffer, after.byteOffset, words);
  const b = new Uint32Array(before.buffer, before.byteOffset, words);
  let start = -1;
  let lastChanged = -1;
  const close = () => {
    if (start >= 0) patches.push({ id: block.id, at: start, bytes: after.slice(start, lastChanged) });
    start = -1;
  };
  for (let i = 0; i < words; i++) {
    if (a[i] === b[i]) continue;
    const at = i << 2;
    if (start >= 0 && at - lastChanged > PATCH_GAP) close();
    if (start < 0) start = at;
    lastChanged = at + 4;
  }
  for (let at = words << 2; at < after.byteLength; at++) {
    if (after[at] === before[at]) continue;
    if (start >= 0 && at - lastChanged > PATCH_GAP) close();
    if (start < 0) start = at;
    lastChanged = at + 1;
  }
  close();
  return patches;
}

/** Write a worker's patches into the blocks this process holds. */
export function applyPatches(patches: BlockPatch[]): void {
  for (const { id, at, bytes } of patches) SharedMemory.patch(id, at, bytes);
}

/**
 * Whether binary data of this size goes through a segment rather than the channel. Under JSON, a binary part
 * stays as JSON makes it (a Buffer an object of its bytes), and only a large whole value travels apart.
 */
function travelsApart(bytes: number, options: EncodeOptions): boolean {
  return options.outOfBand && options.serialization === 'advanced' && bytes >= OUT_OF_BAND_BYTES;
}

/** The value with its markers replaced, containers copied in place (they are the receiver's own). */
function restore(value: unknown, bytes: Uint8Array | undefined, blocks: SharedMemory[], seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || types.isArrayBuffer(value)) return value;
  if (seen.has(value)) return seen.get(value);
  if (isMark(value)) {
    const restored =
      value[MARK] === 'block'
        ? restoreBlock(value as BlockMark, bytes, blocks)
        : value[MARK] === 'buffer'
          ? restoreBuffer(value as BufferMark)
          : restoreBytes(value as BytesMark, bytes!);
    seen.set(value, restored);
    return restored;
  }
  seen.set(value, value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restore(value[i], bytes, blocks, seen);
  } else if (types.isMap(value)) {
    const entries = [...value].map(([key, item]) => [restore(key, bytes, blocks, seen), restore(item, bytes, blocks, seen)] as const);
    value.clear();
    for (const [key, item] of entries) value.set(key, item);
  } else if (types.isSet(value)) {
    const items = [...value].map((item: unknown) => restore(item, bytes, blocks, seen));
    value.clear();
    for (const item of items) value.add(item);
  } else if (isContainer(value)) {
    for (const key of Object.keys(value)) {
      (value as Record<string, unknown>)[key] = restore((value as Record<string, unknown>)[key], bytes, blocks, seen);
    }
  }
  return value;
}

function restoreBlock(mark: BlockMark, bytes: Uint8Array | undefined, blocks: SharedMemory[]): SharedMemory {
  const { block } = mark;
  let restored: SharedMemory;
  if (block.kind === 'shared') restored = SharedMemory.attach(block);
  else {
    const contents =
      typeof mark.bytes === 'string' ? Buffer.from(mark.bytes, 'base64') : (mark.bytes ?? bytes!.subarray(mark.at!, mark.at! + block.size));
    restored = SharedMemory.fromBytes(block, contents);
  }
  blocks.push(restored);
  return restored;
}

/** A Buffer that travelled in the message, as the channel delivered it (a Uint8Array): a Buffer again, no copy. */
function restoreBuffer({ bytes }: BufferMark): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A binary part over the segment's bytes: the same memory, no copy (mapped copy on write, or read once). */
function restoreBytes({ at, length, type }: BytesMark, bytes: Uint8Array): unknown {
  const buffer = bytes.buffer as ArrayBuffer;
  const offset = bytes.byteOffset + at;
  switch (type) {
    case 'ArrayBuffer':
      return offset === 0 && length === buffer.byteLength ? buffer : buffer.slice(offset, offset + length);
    case 'Buffer':
      return Buffer.from(buffer, offset, length);
    case 'DataView':
      return new DataView(buffer, offset, length);
    default: {
      const View = TYPED_ARRAYS[type] ?? Uint8Array;
      return new View(buffer, offset, length / View.BYTES_PER_ELEMENT);
    }
  }
}

type TypedArrayConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

const TYPED_ARRAYS: Record<string, TypedArrayConstructor> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

function binaryType(value: ArrayBufferView | ArrayBuffer): string {
  if (types.isArrayBuffer(value)) return 'ArrayBuffer';
  if (Buffer.isBuffer(value)) return 'Buffer';
  if (types.isDataView(value)) return 'DataView';
  const name = Object.getPrototypeOf(value)?.constructor?.name as string | undefined;
  // A subclass of a typed array arrives as its built-in parent, as structured clone would make it.
  let proto: unknown = Object.getPrototypeOf(value);
  while (proto !== null && proto !== undefined) {
    const candidate = (proto as { constructor?: { name?: string } }).constructor?.name;
    if (candidate !== undefined && candidate in TYPED_ARRAYS) return candidate;
    proto = Object.getPrototypeOf(proto);
  }
  return name ?? 'Uint8Array';
}

function isMark(value: unknown): value is { [MARK]: string } {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[MARK] === 'string';
}

/** Room in a segment is given in steps that suit every typed array. */
function align(at: number): number {
  return (at + 15) & ~15;
}

let v8Module: typeof import('node:v8') | undefined;

/** node:v8, loaded on first use: it brings node:stream with it, a few ms of every child's start-up. */
function v8(): typeof import('node:v8') {
  return (v8Module ??= require('node:v8') as typeof import('node:v8'));
}

function serialize(value: unknown, serialization: Serialization): Uint8Array {
  return serialization === 'json' ? Buffer.from(JSON.stringify(value) ?? 'null') : v8().serialize(value);
}

function deserialize(bytes: Uint8Array, serialization: Serialization): unknown {
  return serialization === 'json' ? JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) : v8().deserialize(bytes);
}
