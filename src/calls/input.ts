/**
 * Chunk sizes and the argument lists of map-like calls.
 */
import { invalidArgument } from '../errors';
import { checkPositiveInteger } from '../options';

/** Python's default for an input of known length: about four chunks per process. */
export function defaultChunkSize(length: number, processes: number): number {
  return Math.max(1, Math.ceil(length / (4 * processes)));
}

export function resolveChunkSize(chunksize: unknown, fallback: () => number): number {
  return chunksize === undefined ? fallback() : checkPositiveInteger('chunksize', chunksize);
}

/** starmap: each item must be the argument list of one call; iterables other than arrays become arrays. */
export function argumentLists(items: unknown[]): unknown[][] {
  return items.map((item, i) => {
    if (typeof item === 'string' || item == null || typeof (item as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw invalidArgument(
        `starmap expects every item to be an array of arguments, but item ${i} is ${describeItem(item)}. ` +
          'Use map for single arguments.',
      );
    }
    return Array.isArray(item) ? item : [...(item as Iterable<unknown>)];
  });
}

function describeItem(item: unknown): string {
  return item === null ? 'null' : typeof item === 'string' ? `the string '${item}'` : `${String(item)} (${typeof item})`;
}

/** Read a sync or async iterable to the end. */
export async function collect(input: Iterable<unknown> | AsyncIterable<unknown>): Promise<unknown[]> {
  if (Array.isArray(input)) return input;
  if (input != null && typeof (input as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return Array.from(input as Iterable<unknown>);
  }
  const items: unknown[] = [];
  for await (const item of input as AsyncIterable<unknown>) items.push(item);
  return items;
}

export function isIterable(input: unknown): input is Iterable<unknown> | AsyncIterable<unknown> {
  return (
    input != null &&
    (typeof (input as Iterable<unknown>)[Symbol.iterator] === 'function' ||
      typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
  );
}
