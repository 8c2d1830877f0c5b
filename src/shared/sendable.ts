/**
 * What cannot cross the IPC channel. With `'advanced'` serialization `send()` itself throws ("could not be
 * cloned"); with `'json'` functions and symbols vanish without a word, so that mode is checked here first.
 * The check itself must not throw on what it inspects: a getter that throws is reported, not raised, and a
 * structure nested too deep for the stack is walked without recursion.
 */
import { withCode } from '../errors';

/** Deeper than this, JSON.stringify overflows the stack anyway: the value is reported as unsendable. */
const MAX_JSON_DEPTH = 2000;
/** Longest path put in a report; the middle of a longer one is left out. */
const MAX_PATH_LENGTH = 200;

/** An object still to be looked into, and how it was reached (its path is spelled out only for a report). */
interface Pending {
  value: object;
  parent: Pending | undefined;
  /** The path of the root; a property key below it. */
  key: string;
  /** Whether `key` indexes an array. */
  index: boolean;
  depth: number;
}

/**
 * Describe the first thing inside `value` that JSON would drop or choke on (a function, a symbol, a getter
 * or `toJSON()` that throws, nesting too deep), with its path, or `undefined` if there is none.
 *
 * It reads the value as JSON.stringify does: own enumerable properties, and for an object with a `toJSON()`
 * what that returns, taken as it is (so a toJSON() may be called twice, here and when the value is sent).
 * Most of a big value is primitives: those cost a `typeof` each, and no path is built unless one is reported.
 */
export function findJsonUnsendable(value: unknown, path = 'value'): string | undefined {
  const seen = new Set<object>();
  const stack: Pending[] = [];
  const problem = visit(value, undefined, path, false, 0, seen, stack);
  if (problem !== undefined) return problem;
  while (stack.length > 0) {
    const item = stack.pop()!;
    const holder = item.value as Record<string, unknown>;
    // JSON takes an array's items by index (not its other properties), an object's own enumerable keys.
    const index = Array.isArray(holder);
    let keys: string[] | undefined;
    let length: number;
    try {
      keys = index ? undefined : Object.keys(holder);
      length = keys === undefined ? (holder as unknown as unknown[]).length : keys.length;
    } catch (error) {
      return `reading ${pathOf(item)} threw: ${describeError(error)}`;
    }
    // Pushed in reverse, so that the first problem in reading order is the one reported.
    for (let i = length - 1; i >= 0; i--) {
      let child: unknown;
      try {
        child = keys === undefined ? (holder as unknown as unknown[])[i] : holder[keys[i]];
      } catch (error) {
        return `reading ${pathOf(item, keys?.[i] ?? String(i), index)} threw: ${describeError(error)}`;
      }
      // Primitives other than symbols (nearly everything in a big value) need nothing more.
      if ((typeof child !== 'object' || child === null) && typeof child !== 'function' && typeof child !== 'symbol') continue;
      const found = visit(child, item, keys?.[i] ?? String(i), index, item.depth + 1, seen, stack);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** One value as JSON.stringify meets it under `key`: its toJSON() applied, then reported or queued. */
function visit(value: unknown, parent: Pending | undefined, key: string, index: boolean, depth: number, seen: Set<object>, stack: Pending[]): string | undefined {
  const at = () => pathOf(parent, key, index);
  if ((typeof value === 'object' && value !== null) || typeof value === 'function') {
    try {
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      // A toJSON() decides its own form (Date, Buffer); what it returns is what gets sent.
      if (typeof toJSON === 'function') value = toJSON.call(value, parent === undefined ? '' : key);
    } catch (error) {
      return `${at()} could not be turned into JSON: ${describeError(error)}`;
    }
  }
  if (typeof value === 'function') return `${at()} is a function`;
  if (typeof value === 'symbol') return `${at()} is a symbol`;
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  if (depth > MAX_JSON_DEPTH) return `${at()} is nested more than ${MAX_JSON_DEPTH} levels deep`;
  seen.add(value);
  stack.push({ value, parent, key, index, depth });
  return undefined;
}

/** The path of `item`, or of its property `key`; a very long one with its middle left out. */
function pathOf(item: Pending | undefined, key?: string, index = false): string {
  const parts: string[] = [];
  if (key !== undefined) parts.push(item === undefined ? key : index ? `[${key}]` : `.${key}`);
  for (let at = item; at !== undefined; at = at.parent) {
    parts.push(at.parent === undefined ? at.key : at.index ? `[${at.key}]` : `.${at.key}`);
  }
  const path = parts.reverse().join('');
  if (path.length <= MAX_PATH_LENGTH) return path;
  const half = MAX_PATH_LENGTH / 2;
  return `${path.slice(0, half)}…${path.slice(-half)}`;
}

/** The TypeError that fails one task whose arguments or result could not be sent. */
export function unsendableError(what: string, reason: string, cause?: unknown): TypeError {
  const error = new TypeError(
    `${what} could not be sent across the process boundary: ${reason.replace(/\.$/, '')}. ` +
      'Send plain data (numbers, strings, arrays, objects, Buffers, Maps, Sets, Dates) instead.',
    cause === undefined ? undefined : { cause },
  );
  return withCode(error, 'ERR_POOL_UNSENDABLE');
}

/** An error's message, or the thrown value as text, for a report that must not throw itself. */
export function describeError(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an unprintable value';
  }
}

/**
 * Deeper than this, a value is refused under `'advanced'` too. V8 writes a structure with less stack per level
 * than it reads one, so a value nested a few thousand levels deep leaves one process, and overflows the stack
 * of the one reading it, inside Node's IPC code where nothing can catch it: a parent would die of a child's
 * result, a child of its arguments.
 */
export const MAX_CLONE_DEPTH = 1000;

/**
 * For structured clone: describe `value` if it is nested deeper than MAX_CLONE_DEPTH, else undefined. Walks
 * what structured clone copies (array items, own enumerable properties, Map and Set entries) without
 * recursion; typed arrays and buffers are leaves. A property that cannot be read is left for the
 * serializer to report.
 */
export function findTooDeep(value: unknown, what: string): string | undefined {
  // A typed array or buffer is bytes: nothing in it nests (and walking its indices would cost a packed chunk dearly).
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || isSmallFlatArray(value)) return undefined;
  const seen = new Set<object>();
  const stack: Array<{ value: object; depth: number }> = [{ value, depth: 0 }];
  const push = (child: unknown, depth: number) => {
    if (typeof child === 'object' && child !== null && !ArrayBuffer.isView(child) && !seen.has(child)) stack.push({ value: child, depth });
  };
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (item.depth > MAX_CLONE_DEPTH) return `${what} is nested more than ${MAX_CLONE_DEPTH} levels deep`;
    seen.add(item.value);
    try {
      if (Array.isArray(item.value)) {
        for (const child of item.value as unknown[]) push(child, item.depth + 1);
      } else if (item.value instanceof Map) {
        for (const [key, child] of item.value) {
          push(key, item.depth + 1);
          push(child, item.depth + 1);
        }
      } else if (item.value instanceof Set) {
        for (const child of item.value) push(child, item.depth + 1);
      } else {
        for (const key of Object.keys(item.value)) push((item.value as Record<string, unknown>)[key], item.depth + 1);
      }
    } catch {
      // A getter that throws: serializing will throw the same, and say so.
    }
  }
  return undefined;
}

/**
 * An array of a few primitives, or of a few such arrays: the argument lists of most calls. They are checked
 * without a walk's allocations, which a tiny task would pay for on every call (here, and in value-codec.ts's
 * scan for what would travel apart).
 */
export function isSmallFlatArray(value: object, depth = 0): boolean {
  if (!Array.isArray(value)) return false;
  try {
    if (value.length > 16) return false;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null && !(depth === 0 && isSmallFlatArray(item, 1))) return false;
    }
    return true;
  } catch {
    // A proxy or a getter that throws: the walk handles it.
    return false;
  }
}

/** What in `value` cannot be sent with `serialization`, if anything, for a report that names `what`. */
export function findUnsendable(value: unknown, serialization: 'advanced' | 'json', what: string): string | undefined {
  return serialization === 'json' ? findJsonUnsendable(value, what) : findTooDeep(value, what);
}
