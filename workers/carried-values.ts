/**
 * A worker's side of what values carry beyond the channel (src/shared/value-codec.ts): the SharedMemory
 * blocks it holds, and the segments it wrote for the parent to read.
 *
 * - A block that arrives in a task's arguments, or that a task makes and returns, stays mapped here for the
 *   tasks that follow (attaching it again costs nothing), until the parent says it closed the block.
 * - A block this worker holds in copy mode (no native part here) has its contents sent back with the result
 *   of each task that carried it: that is how the task's writes reach the caller.
 * - A segment written for a result or an event stays open until the parent says it has read it.
 */
import type { SharedMemory } from '../src/shared/shared-memory';
import type { Serialization } from '../src/options';
import { closeEncoding, decode, diffBlock, encode, type EncodeOptions, type Encoding, type Envelope } from '../src/shared/value-codec';
import type { SegmentRef } from '../src/shared/segment';

/** A block held here in copy mode for a task, and its contents as they arrived. */
export interface CopyHeld {
  block: SharedMemory;
  before: Uint8Array;
}

export class CarriedValues {
  /** Blocks this worker holds for later tasks, by id. */
  readonly #kept = new Map<string, SharedMemory>();
  /** Encodings whose segments the parent has not read yet, by the segment's descriptor. */
  readonly #unread = new Map<number, Encoding>();
  #serialization: Serialization = 'advanced';
  /** How values are encoded for the parent: made once, not for every result. */
  #options: EncodeOptions;

  /** `outOfBand` and `buffersAsBytes`: what the channel to the parent is (see EncodeOptions). */
  constructor(outOfBand: boolean, buffersAsBytes: boolean) {
    this.#options = { serialization: this.#serialization, outOfBand, buffersAsBytes };
  }

  set serialization(serialization: Serialization) {
    this.#serialization = serialization;
    this.#options = { ...this.#options, serialization };
  }

  /**
   * A value from the parent, its blocks kept; also the blocks of it held here in copy mode, each with its
   * contents as they arrived, for `writeBack` once the task is done.
   */
  receive(envelope: Envelope): { value: unknown; copies: CopyHeld[] } {
    const { value, blocks } = decode(envelope, this.#serialization);
    const copies: CopyHeld[] = [];
    for (const block of blocks) {
      this.#kept.set(block.id, block);
      if (!block.shared) copies.push({ block, before: block.bytes().slice() });
    }
    return { value, copies };
  }

  /** What a task changed in the blocks it held in copy mode, as a value for the parent (see diffBlock). */
  writeBack(copies: readonly CopyHeld[]): Envelope | undefined {
    const patches = copies.flatMap(({ block, before }) => (block.buffer.byteLength === block.size ? diffBlock(block, before) : []));
    if (patches.length === 0) return undefined;
    return this.send(patches) ?? { value: patches };
  }

  /**
   * A value for the parent: its envelope, or undefined to send it as it is. The blocks it carries are kept
   * (the parent attaches them through this worker), its segment until the parent has read it.
   */
  send(value: unknown): Envelope | undefined {
    const encoding = encode(value, this.#options);
    if (encoding === undefined) return undefined;
    for (const block of encoding.blocks) this.#kept.set(block.id, block);
    const { segment } = encoding.envelope;
    if (segment !== undefined && segment.fd >= 0) this.#unread.set(segment.fd, encoding);
    return encoding.envelope;
  }

  /** The parent has read these segments. */
  released(segments: SegmentRef[]): void {
    for (const { fd } of segments) {
      const encoding = this.#unread.get(fd);
      if (encoding === undefined) continue;
      this.#unread.delete(fd);
      closeEncoding(encoding);
    }
  }

  /** The parent closed these blocks: this worker's view of them ends too. */
  blocksClosed(ids: string[]): void {
    for (const id of ids) {
      this.#kept.get(id)?.close();
      this.#kept.delete(id);
    }
  }
}
