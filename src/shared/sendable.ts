/**
 * What cannot cross the IPC channel. With `'advanced'` serialization `send()` itself throws ("could not be
 * cloned"); with `'json'` functions and symbols vanish without a word, so that mode is checked here first.
 */

/** Describe the first function or symbol inside `value` (its path and kind), or `undefined` if there is none. */
export function findJsonUnsendable(value: unknown, path = 'value', seen = new Set<object>()): string | undefined {
  if (typeof value === 'function') return `${path} is a function`;
  if (typeof value === 'symbol') return `${path} is a symbol`;
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  // A toJSON() decides its own form (Date, Buffer); what it returns is what gets sent.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
  seen.add(value);
  for (const [key, item] of Object.entries(value)) {
    const found = findJsonUnsendable(item, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, seen);
    if (found) return found;
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
