/**
 * A task's error as it crosses the IPC channel: the child turns whatever was thrown into plain data, the
 * parent rebuilds an Error from it. serialize-error does the work; this file adds what it leaves out, and
 * makes sure that no error, however hostile, can make either side throw:
 *
 * - a `cause` chain that loops back (`a.cause = b; b.cause = a`) comes back as the same loop, where
 *   serialize-error would put the string '[Circular]';
 * - a DOMException (an AbortSignal's reason, for one) comes back as a DOMException with its name;
 * - an error whose getters or `toJSON` throw is sent in a reduced form (name, message, stack, code) rather
 *   than taking its child down.
 */

/** Plain data, whatever was thrown. */
export type WireError = unknown;

/** Wire-only keys, on the serialized object: never on an error the user sees. */
const CAUSE_REF = '@@forkpool/cause-ref';
const CONSTRUCTOR = '@@forkpool/constructor';
/** Set on a reduced form: why the full one could not be made. */
const REDUCED = '@@forkpool/reduced';

/** Causes followed before a chain is cut: a chain this long is a bug, and must not hang the child. */
const MAX_CAUSES = 100;

// Loaded on the first error rather than at start-up: it costs a child several milliseconds to load.
let serializer: typeof import('serialize-error') | undefined;
function errorSerializer(): typeof import('serialize-error') {
  return (serializer ??= require('serialize-error') as typeof import('serialize-error'));
}

/** Child side: turn anything thrown into plain data that survives either serialization. Never throws. */
export function toWireError(thrown: unknown): WireError {
  const chain = causeChain(thrown);
  let wire: Record<string, unknown>;
  try {
    wire = serialize(thrown, true);
  } catch {
    try {
      // A toJSON() that throws: the error's own properties still say more than the reduced form.
      wire = serialize(thrown, false);
    } catch (error) {
      return reduced(thrown, error);
    }
  }
  // Along the chain: mark DOMExceptions, and turn the cut-off loop back into a reference.
  let link: Record<string, unknown> | undefined = wire;
  for (let i = 0; i < chain.length && link !== undefined; i++) {
    if (isDomException(chain[i])) link[CONSTRUCTOR] = 'DOMException';
    const next = chain.indexOf(read(chain[i], 'cause'));
    if (next !== -1 && next <= i) {
      link.cause = { [CAUSE_REF]: next };
      break;
    }
    link = isObject(link.cause) ? (link.cause as Record<string, unknown>) : undefined;
  }
  return wire;
}

/**
 * Parent side: rebuild the error. Built-in classes come back as themselves (`instanceof TypeError`), with
 * name, message, code, own properties, `cause` and the child's stack; a thrown non-Error value comes back
 * as serialize-error's `NonError` describing it. Never throws, whatever the child sent.
 */
export function fromWireError(wire: WireError): Error {
  try {
    // The chain of serialized errors; it ends at a cause that is not an error, or at a reference back.
    const links: Array<Record<string, unknown>> = [];
    for (let link: unknown = wire; isWireError(link) && links.length < MAX_CAUSES; link = link.cause) links.push(link);
    if (links.length === 0) return errorSerializer().deserializeError(wire);
    const errors = links.map((link, i) => rebuild(link, i === links.length - 1 ? link.cause : undefined));
    for (let i = 0; i < errors.length; i++) {
      const cause = links[i].cause;
      const linked = i + 1 < errors.length ? errors[i + 1] : isObject(cause) && CAUSE_REF in cause ? errors[(cause as Record<string, number>)[CAUSE_REF]] : undefined;
      if (linked !== undefined) Object.defineProperty(errors[i], 'cause', { value: linked, configurable: true, writable: true, enumerable: false });
    }
    return errors[0];
  } catch (error) {
    return new Error(`A task failed with an error that could not be rebuilt here: ${String(error)}`);
  }
}

/** A serialized error, as serialize-error recognises one. */
function isWireError(value: unknown): value is Record<string, unknown> {
  return isObject(value) && ['name', 'message', 'stack'].every((key) => typeof read(value, key) === 'string');
}

/** One link of a chain; `cause` is kept only when it is plain data (not an error, not a reference). */
function rebuild(link: Record<string, unknown>, cause: unknown): Error {
  const { cause: _linked, [CONSTRUCTOR]: constructor, [REDUCED]: _reduced, ...own } = link;
  if (cause !== undefined && !(isObject(cause) && CAUSE_REF in cause)) own.cause = cause;
  if (constructor === 'DOMException') {
    const error = new DOMException(String(own.message), String(own.name));
    for (const [key, value] of Object.entries(own)) {
      if (key === 'name' || key === 'message' || key === 'code') continue;
      Object.defineProperty(error, key, { value, configurable: true, writable: true, enumerable: key !== 'stack' && key !== 'cause' });
    }
    return error;
  }
  return errorSerializer().deserializeError(own);
}

function serialize(thrown: unknown, useToJSON: boolean): Record<string, unknown> {
  return errorSerializer().serializeError(thrown, { useToJSON }) as Record<string, unknown>;
}

/** The errors of a cause chain, each once: it ends at a value that is not an object or at a loop. */
function causeChain(thrown: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let link = thrown; isObject(link) && !chain.includes(link) && chain.length < MAX_CAUSES; link = read(link, 'cause')) {
    chain.push(link);
  }
  return chain;
}

/** What can be read safely of an error that serialize-error could not take: name, message, stack, code. */
function reduced(thrown: unknown, why: unknown): WireError {
  const text = (key: string) => {
    const value = read(thrown, key);
    return typeof value === 'string' ? value : undefined;
  };
  const code = read(thrown, 'code');
  const wire: Record<string, unknown> = {
    name: text('name') ?? 'Error',
    message: text('message') ?? '',
    stack: text('stack') ?? '',
    [REDUCED]: `serializing the error threw: ${String(read(why, 'message') ?? why)}`,
  };
  if (typeof code === 'string' || typeof code === 'number') wire.code = code;
  return wire;
}

/** `value[key]`, or undefined where reading it throws (a hostile getter, a revoked proxy). */
function read(value: unknown, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function isDomException(value: unknown): boolean {
  try {
    return value instanceof DOMException;
  } catch {
    return false;
  }
}
