/**
 * A task's error as it crosses the IPC channel: the child turns whatever was thrown into plain data, the
 * parent rebuilds an Error from it. serialize-error does the work; this file adds what it leaves out, and
 * makes sure that no error, however hostile, can make either side throw, or lose the error:
 *
 * - a `cause` chain that loops back (`a.cause = b; b.cause = a`) comes back as the same loop, where
 *   serialize-error would put the string '[Circular]';
 * - a DOMException (an AbortSignal's reason, for one) comes back as a DOMException with its name;
 * - each error of a cause chain is taken on its own, and each is taken property by property when
 *   serialize-error throws on it (a getter or a `toJSON` that throws): what cannot be read is left out, and
 *   nothing else is lost with it, its causes included;
 * - an Error stays an Error: a name, message or stack that cannot be read, or is not a string, is replaced,
 *   and a `toJSON` that returns something other than an object is not taken at its word;
 * - what is sent is plain data that both serializations carry alike and that the parent can read back
 *   (structured clone would refuse a symbol or a function a `toJSON` returned; a parent that reads a message
 *   nested a few thousand levels deep runs out of stack, which no handler of ours can catch).
 */
import { describeError } from './sendable';

/** Plain data, whatever was thrown. */
export type WireError = unknown;

/** Wire-only keys, on the serialized object: never on an error the user sees. */
const CAUSE_REF = '@@forkpool/cause-ref';
const CONSTRUCTOR = '@@forkpool/constructor';
/** The name of the error's class, where it differs from the error's `name` (a class that does not set it). */
const CLASS = '@@forkpool/class';
/**
 * On an error rebuilt without its class (no class of that name is known here): the class it was thrown by, so
 * that it crosses on as that class. A cluster's host passes its children's errors on to the pool that knows it.
 */
const THROWN_CLASS = Symbol('forkpool.thrownClass');

/** Causes followed before a chain is cut: a chain this long is a bug, and must not hang the child. */
const MAX_CAUSES = 100;
/**
 * Nesting kept inside one error of a chain; deeper data is cut. With MAX_CAUSES links this keeps a message
 * well within what the parent's deserializer can read.
 */
const MAX_WIRE_DEPTH = 100;
/** What stands where data was cut for depth. */
const TOO_DEEP = '[Too deep]';

/** serialize-error's own properties of an error; `cause` is linked separately. */
const ERROR_KEYS = ['name', 'message', 'stack', 'code', 'errors'];

/** Returned for a value that is left out. */
const SKIP: unique symbol = Symbol('skip');

// Loaded on the first error rather than at start-up: it costs a child several milliseconds to load.
let serializer: typeof import('serialize-error') | undefined;
function errorSerializer(): typeof import('serialize-error') {
  return (serializer ??= require('serialize-error') as typeof import('serialize-error'));
}

/** Child side: turn anything thrown into plain data that survives either serialization. Never throws. */
export function toWireError(thrown: unknown): WireError {
  try {
    return wireOf(thrown);
  } catch (error) {
    // Nothing above is meant to throw; if something does, the parent still learns that the task failed.
    return { name: 'Error', message: `A task failed with an error that could not be read: ${describeError(error)}`, stack: '' };
  }
}

/** AggregateErrors inside AggregateErrors taken error by error; deeper ones as serialize-error leaves them. */
const MAX_ERRORS_DEPTH = 3;

function wireOf(thrown: unknown, depth = 0): WireError {
  const chain = causeChain(thrown);
  // A thrown primitive: serialize-error describes it as a NonError.
  if (chain.length === 0) return plain(serialize(thrown, true));
  const links = chain.map((link) => linkOf(link, depth));
  for (let i = 0; i < chain.length; i++) {
    const link = links[i];
    // What was thrown may be data of any shape (an array, what a toJSON() made of it): then it has no cause.
    if (!isRecord(link)) break;
    const cause = read(chain[i], 'cause');
    const at = chain.indexOf(cause as object);
    if (at === i + 1) link.cause = links[i + 1];
    else if (at !== -1) link.cause = { [CAUSE_REF]: at };
    else if (isError(cause)) {
      // The chain was cut at MAX_CAUSES: it ends here.
    } else if (cause !== undefined || hasOwn(chain[i], 'cause')) {
      // Data (not an Error): as serialize-error would send it.
      const value = valueOf(cause);
      if (value !== SKIP) link.cause = value;
    }
  }
  return links[0];
}

/** One object of a cause chain (an Error, or what was thrown) as plain data, its cause left to the caller. */
function linkOf(link: object, depth: number): unknown {
  const alone = withoutCause(link);
  const error = isError(link);
  let wire: unknown = SKIP;
  for (const useToJSON of [true, false]) {
    try {
      wire = plain(serialize(alone, useToJSON));
    } catch {
      continue;
    }
    // A toJSON() may say what an object is, but not that an Error is a number.
    if (!error || isRecord(wire)) break;
    wire = SKIP;
  }
  if (wire === SKIP) wire = propertyByProperty(link);
  if (!error) return wire;
  const data = wire as Record<string, unknown>;
  // The parent rebuilds an Error from a name, a message and a stack that are strings.
  const name = stringOf(data.name) ?? stringOf(read(link, 'name')) ?? 'Error';
  const message = stringOf(data.message) ?? stringOf(read(link, 'message')) ?? '';
  data.name = name;
  data.message = message;
  data.stack = stringOf(data.stack) ?? stringOf(read(link, 'stack')) ?? `${name}: ${message}`;
  // An AggregateError's errors, each taken as a thrown error is (its causes, a DOMException's class).
  const errors = read(link, 'errors');
  if (Array.isArray(errors) && depth < MAX_ERRORS_DEPTH) {
    data.errors = errors.map((item: unknown) => {
      if (isObject(item)) return wireOf(item, depth + 1);
      const value = valueOf(item);
      return value === SKIP ? undefined : value;
    });
  }
  if (isDomException(link)) data[CONSTRUCTOR] = 'DOMException';
  const className = classNameOf(link);
  if (className !== undefined && className !== name) data[CLASS] = className;
  return data;
}

/**
 * The object with its `cause` hidden, so that serialize-error takes it alone: a cause that it chokes on
 * spoils only itself. Getters run on the object itself (a DOMException's check who calls them). Where the
 * object cannot be wrapped, or the wrapper breaks a rule of the object's (a frozen `cause`), serialize-error
 * throws, and the caller goes property by property.
 */
function withoutCause(link: object): object {
  try {
    return new Proxy(link, {
      get: (target, key) => (key === 'cause' ? undefined : Reflect.get(target, key, target)),
      has: (target, key) => key !== 'cause' && Reflect.has(target, key),
      ownKeys: (target) => Reflect.ownKeys(target).filter((key) => key !== 'cause'),
      getOwnPropertyDescriptor: (target, key) => (key === 'cause' ? undefined : Reflect.getOwnPropertyDescriptor(target, key)),
    });
  } catch {
    return link;
  }
}

/** What can be read of an object that serialize-error could not take, one property at a time. */
function propertyByProperty(link: object): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  let keys: string[] = [];
  try {
    keys = Object.keys(link);
  } catch {
    // A revoked proxy: nothing of it can be read.
  }
  for (const key of [...ERROR_KEYS, ...keys.filter((key) => key !== 'cause' && key !== '__proto__' && !ERROR_KEYS.includes(key))]) {
    let value: unknown;
    try {
      value = (link as Record<string, unknown>)[key];
    } catch {
      continue;
    }
    if (value === undefined && ERROR_KEYS.includes(key)) continue;
    const form = valueOf(value);
    if (form !== SKIP) data[key] = form;
  }
  return data;
}

/** serialize-error's form of one value (a property, a cause), as plain data; SKIP if it has none. */
function valueOf(value: unknown): unknown {
  for (const useToJSON of [true, false]) {
    try {
      const wrapper = serialize({ value }, useToJSON);
      return 'value' in wrapper ? plain(wrapper.value) : SKIP;
    } catch {
      // A toJSON() or a getter that throws: try without toJSON(), then give up on this value.
    }
  }
  return SKIP;
}

/**
 * Data both serializations carry alike, whatever serialize-error handed back (it returns what a `toJSON()`
 * returns as it is): a bigint or symbol becomes its text, a function is left out, an object that loops back
 * becomes '[Circular]', data nested deeper than MAX_WIRE_DEPTH becomes '[Too deep]', a `toJSON()` is called
 * as JSON would call it, and what cannot be read is left out.
 */
function plain(value: unknown, depth = 0, ancestors = new Set<object>()): unknown {
  switch (typeof value) {
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    case 'function':
      return SKIP;
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null) return null;
  if (ancestors.has(value)) return '[Circular]';
  if (depth >= MAX_WIRE_DEPTH) return TOO_DEEP;
  let object: object = value;
  try {
    const toJSON = (object as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      const json: unknown = toJSON.call(object);
      if (!isObject(json)) return plain(json, depth, ancestors);
      object = json;
      if (ancestors.has(object)) return '[Circular]';
    }
    ancestors.add(object);
    try {
      if (Array.isArray(object)) {
        return object.map((item: unknown) => {
          const form = plain(item, depth + 1, ancestors);
          return form === SKIP ? undefined : form;
        });
      }
      const copy: Record<string, unknown> = {};
      for (const key of Object.keys(object)) {
        if (key === '__proto__') continue;
        let item: unknown;
        try {
          item = (object as Record<string, unknown>)[key];
        } catch {
          continue;
        }
        const form = plain(item, depth + 1, ancestors);
        if (form !== SKIP) copy[key] = form;
      }
      return copy;
    } finally {
      ancestors.delete(object);
    }
  } catch {
    // A revoked proxy, a toJSON() that throws.
    return SKIP;
  }
}

/** Error classes a pool knows (its `errorClasses` option), by class name. */
export type ErrorClasses = ReadonlyMap<string, abstract new (...args: any[]) => Error>;

/**
 * Parent side: rebuild the error. Built-in classes come back as themselves (`instanceof TypeError`), and so
 * do the classes in `classes`, by the name of the class the child threw (their prototype is set; their
 * constructor is not called), with name, message, code, own properties, `cause` and the child's stack; a
 * thrown non-Error value comes back as serialize-error's `NonError` describing it. Never throws, whatever
 * the child sent.
 */
export function fromWireError(wire: WireError, classes?: ErrorClasses): Error {
  try {
    // The chain of serialized errors; it ends at a cause that is not an error, or at a reference back.
    const links: Array<Record<string, unknown>> = [];
    for (let link: unknown = wire; isWireError(link) && links.length < MAX_CAUSES; link = link.cause) links.push(link);
    if (links.length === 0) return errorSerializer().deserializeError(wire);
    const errors = links.map((link, i) => rebuild(link, i === links.length - 1 ? link.cause : undefined, classes));
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
function rebuild(link: Record<string, unknown>, cause: unknown, classes: ErrorClasses | undefined): Error {
  const { cause: _linked, [CONSTRUCTOR]: constructor, [CLASS]: className, errors, ...own } = link;
  if (cause !== undefined && !(isObject(cause) && CAUSE_REF in cause)) own.cause = cause;
  const error = rebuildOne(own, constructor);
  const thrownClass = typeof className === 'string' ? className : String(own.name);
  const known = classes?.get(thrownClass);
  // As Python re-raises the same class: the prototype makes `instanceof` work, and every own property stays.
  if (known !== undefined) Object.setPrototypeOf(error, known.prototype);
  else Object.defineProperty(error, THROWN_CLASS, { value: thrownClass, configurable: true });
  if (Array.isArray(errors)) {
    // An AggregateError's errors, each sent as a thrown error is.
    const items = errors.map((item: unknown) => (isWireError(item) ? fromWireError(item, classes) : item));
    Object.defineProperty(error, 'errors', { value: items, configurable: true, writable: true, enumerable: false });
  }
  return error;
}

function rebuildOne(own: Record<string, unknown>, constructor: unknown): Error {
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

/**
 * What was thrown, if it is an object, and the Errors of its cause chain, each once: the chain ends at a
 * cause that is not an Error (data, sent as it is), at a loop, or at MAX_CAUSES.
 */
function causeChain(thrown: unknown): object[] {
  if (!isObject(thrown)) return [];
  const chain: object[] = [thrown];
  for (let link = read(thrown, 'cause'); isError(link) && !chain.includes(link as object) && chain.length < MAX_CAUSES; link = read(link, 'cause')) {
    chain.push(link as object);
  }
  return chain;
}

/** `value[key]`, or undefined where reading it throws (a hostile getter, a revoked proxy). */
function read(value: unknown, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function hasOwn(value: object, key: string): boolean {
  try {
    return Object.prototype.hasOwnProperty.call(value, key);
  } catch {
    return false;
  }
}

/** The value if it is a string; else its text where it has one, undefined where it is missing or unprintable. */
function stringOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null || isObject(value)) return undefined;
  try {
    return String(value);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** An object that can carry a `cause`: not an array. */
function isRecord(value: unknown): value is Record<string, unknown> {
  return isObject(value) && !Array.isArray(value);
}

/** An Error of any realm (the brand, not the prototype chain: a null prototype does not stop it being one). */
function isError(value: unknown): boolean {
  try {
    return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]';
  } catch {
    return false;
  }
}

/** The name of the class an object was made by, where it can be read; never throws. */
function classNameOf(value: object): string | undefined {
  try {
    const thrown: unknown = (value as { [THROWN_CLASS]?: unknown })[THROWN_CLASS];
    if (typeof thrown === 'string') return thrown;
    const constructor: unknown = Object.getPrototypeOf(value)?.constructor;
    const name: unknown = typeof constructor === 'function' ? constructor.name : undefined;
    return typeof name === 'string' && name !== '' ? name : undefined;
  } catch {
    return undefined;
  }
}

function isDomException(value: unknown): boolean {
  try {
    return value instanceof DOMException;
  } catch {
    return false;
  }
}
