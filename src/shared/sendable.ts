/**
 * What cannot cross the IPC channel. With `'advanced'` serialization `send()` itself throws ("could not be
 * cloned"); with `'json'` functions and symbols vanish without a word, so that mode is checked here first.
 * The check itself must not throw on what it inspects: a getter that throws is reported, not raised, and a
 * structure nested too deep for the stack is walked without recursion.
 */

/** Deeper than this, JSON.stringify overflows the stack anyway: the value is reported as unsendable. */
const MAX_JSON_DEPTH = 2000;

/**
 * Describe the first thing inside `value` that JSON would drop or choke on (a function, a symbol, a getter
 * that throws, nesting too deep), with its path, or `undefined` if there is none.
 */
export function findJsonUnsendable(value: unknown, path = 'value'): string | undefined {
  const seen = new Set<object>();
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value === 'function') return `${item.path} is a function`;
    if (typeof item.value === 'symbol') return `${item.path} is a symbol`;
    if (typeof item.value !== 'object' || item.value === null || seen.has(item.value)) continue;
    if (item.depth > MAX_JSON_DEPTH) return `${item.path} is nested more than ${MAX_JSON_DEPTH} levels deep`;
    seen.add(item.value);
    let entries: Array<[string, unknown]>;
    try {
      // A toJSON() decides its own form (Date, Buffer); what it returns is what gets sent.
      if (typeof (item.value as { toJSON?: unknown }).toJSON === 'function') continue;
      entries = Object.entries(item.value);
    } catch (error) {
      return `reading ${item.path} threw: ${describeError(error)}`;
    }
    const isArray = Array.isArray(item.value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i];
      stack.push({ value: child, path: isArray ? `${item.path}[${key}]` : `${item.path}.${key}`, depth: item.depth + 1 });
    }
  }
  return undefined;
}

/** The TypeError that fails one task whose arguments or result could not be sent. */
export function unsendableError(what: string, reason: string, cause?: unknown): TypeError {
  const error = new TypeError(
    `${what} could not be sent across the process boundary: ${reason.replace(/\.$/, '')}. ` +
      'Send plain data (numbers, strings, arrays, objects, Buffers, Maps, Sets, Dates) instead.',
    cause === undefined ? undefined : { cause },
  );
  (error as TypeError & { code: string }).code = 'ERR_POOL_UNSENDABLE';
  return error;
}

function describeError(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'an unprintable value';
  }
}
