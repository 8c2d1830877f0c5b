/**
 * A cheaper form for the commonest chunk: a long run of plain numbers.
 *
 * Structured clone writes an array of numbers value by value and reads it back the same way; a Float64Array
 * is copied as raw bytes, several times faster. Every double survives the trip, -0 and NaN included. The
 * receiving side only ever indexes a chunk's values, so the packed form needs no unpacking.
 */
export type ChunkValues = readonly unknown[] | Float64Array;

/** Shorter runs gain nothing worth the check. */
export const MIN_PACKED_LENGTH = 64;

/** The values as a Float64Array when they are all numbers and there are enough of them; else as they are. */
export function packNumbers(values: readonly unknown[]): ChunkValues {
  if (values.length < MIN_PACKED_LENGTH || !allNumbers(values)) return values;
  return Float64Array.from(values as number[]);
}

export function allNumbers(values: readonly unknown[]): boolean {
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'number') return false;
  return true;
}

/** For a JSON channel, which would send a Float64Array as an object of indices: the plain array. */
export function unpackNumbers(values: ChunkValues): readonly unknown[] {
  return values instanceof Float64Array ? Array.from(values) : values;
}
