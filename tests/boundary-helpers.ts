/**
 * For the property tests at the process boundary: generators of value and error recipes (built by
 * tests/fixtures/boundary-values.js, here and in a child alike), the rules that say what a value must arrive
 * as under each serialization, and a comparison that holds across realms.
 *
 * Values that arrive over IPC are built in Node's main realm, not in the test's, so kinds are told apart with
 * `util.types` and prototypes by their shape (none, a root object, anything else), never with `instanceof`.
 */
import v8 from 'node:v8';
import { types } from 'node:util';
import fc from 'fast-check';
import type { Serialization } from '../src';

/** How many generated cases each property runs: FORKPOOL_PROPERTY_RUNS, as `npm run test:slow` sets it. */
export const PROPERTY_RUNS = Number(process.env.FORKPOOL_PROPERTY_RUNS ?? 100);

// --- Recipes --------------------------------------------------------------------------------------

/** A value recipe (see the fixture): an array whose first element says what to build. */
export type ValueRecipe = readonly unknown[];

/** An error recipe (see the fixture). */
export interface ErrorRecipe {
  kind: string;
  name?: string;
  message?: string;
  code?: string | number;
  props?: Array<[string, unknown]>;
  errors?: Array<ErrorRecipe | { data: unknown }>;
  cause?: ErrorRecipe | { ref: number } | { data: unknown };
  hostile?: string;
  thrown?: ValueRecipe;
}

/** Nested deeper than this, a value may be refused (with ERR_POOL_UNSENDABLE) instead of arriving. */
export const SAFE_DEPTH = 1000;

/** Numbers as recipes carry them: JSON has no NaN, infinities or -0, so those travel as names. */
const numberRecipe = fc.double().map((n): ValueRecipe => ['num', Object.is(n, -0) ? '-0' : Number.isFinite(n) ? n : String(n)]);

const VIEW_KINDS: Record<string, number> = {
  Int8Array: 1,
  Uint8Array: 1,
  Uint8ClampedArray: 1,
  Int16Array: 2,
  Uint16Array: 2,
  Int32Array: 4,
  Uint32Array: 4,
  Float32Array: 4,
  Float64Array: 8,
  BigInt64Array: 8,
  BigUint64Array: 8,
  Buffer: 1,
  DataView: 1,
  ArrayBuffer: 1,
};

/** A typed array, Buffer, DataView or ArrayBuffer of random bytes (NaN payloads included), at an aligned offset. */
const viewRecipe = fc
  .record({ kind: fc.constantFrom(...Object.keys(VIEW_KINDS)), count: fc.nat(16), offsetUnits: fc.nat(3) })
  .chain(({ kind, count, offsetUnits }) =>
    fc
      .array(fc.nat(255), { minLength: count * VIEW_KINDS[kind], maxLength: count * VIEW_KINDS[kind] })
      .map((bytes): ValueRecipe => ['view', kind, bytes, offsetUnits * VIEW_KINDS[kind]]),
  );

const leafRecipe: fc.Arbitrary<ValueRecipe> = fc.oneof(
  { weight: 3, arbitrary: numberRecipe },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }).map((s): ValueRecipe => ['str', s]) },
  fc.boolean().map((b): ValueRecipe => ['bool', b]),
  fc.constant<ValueRecipe>(['null']),
  fc.constant<ValueRecipe>(['undef']),
  fc.bigInt().map((b): ValueRecipe => ['bigint', String(b)]),
  fc.oneof(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.constant('invalid')).map((ms): ValueRecipe => ['date', ms]),
  fc
    .tuple(fc.constantFrom('', 'a+b', '^x$', '[\\u0041-\\u005A]', '(?<year>\\d{4})', '\\/', '\u2028'), fc.subarray(['d', 'g', 'i', 'm', 's', 'u', 'y']))
    .map(([source, flags]): ValueRecipe => ['regexp', source, flags.join('')]),
  viewRecipe,
  // new Number(x), new String(s), new Boolean(b), Object(10n)
  fc
    .oneof(
      numberRecipe,
      fc.string({ maxLength: 5 }).map((s): ValueRecipe => ['str', s]),
      fc.boolean().map((b): ValueRecipe => ['bool', b]),
      fc.bigInt().map((b): ValueRecipe => ['bigint', String(b)]),
    )
    .map((inner): ValueRecipe => ['boxed', inner]),
  // An error as a value, returned rather than thrown.
  fc
    .record({ kind: fc.constantFrom('Error', 'TypeError', 'RangeError', 'EvalError', 'CustomError'), message: fc.string({ maxLength: 10 }) })
    .map((error): ValueRecipe => ['errorValue', error]),
);

/** Leaves that cannot be sent in one serialization or the other, or either. */
const hostileLeafRecipe: fc.Arbitrary<ValueRecipe> = fc.oneof(
  fc.string({ maxLength: 10 }).map((why): ValueRecipe => ['getterThrows', why]),
  fc.constant<ValueRecipe>(['fn']),
  fc.string({ maxLength: 5 }).map((description): ValueRecipe => ['symbol', description]),
  fc.string({ maxLength: 10 }).map((why): ValueRecipe => ['toJSONThrows', why]),
  fc.constant<ValueRecipe>(['weakMap']),
  fc.constant<ValueRecipe>(['promise']),
  fc.constant<ValueRecipe>(['sharedArrayBuffer']),
);

const keyArb = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('0', '1', '10', 'length', 'constructor', 'toString', 'then'));

/** Any value recipe: shapes of every kind, a few hostile ones among them. */
export const valueRecipe: fc.Arbitrary<ValueRecipe> = fc.letrec<{ value: ValueRecipe }>((tie) => {
  const value = tie('value');
  const entries = fc.uniqueArray(fc.tuple(keyArb, value), { maxLength: 4, selector: ([key]) => key });
  return {
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 6, arbitrary: leafRecipe },
      { weight: 1, arbitrary: hostileLeafRecipe },
      fc.array(value, { maxLength: 4 }).map((items): ValueRecipe => ['arr', items]),
      fc
        .record({ length: fc.integer({ min: 1, max: 50 }), at: fc.array(fc.tuple(fc.nat(49), value), { maxLength: 3 }) })
        .map(({ length, at }): ValueRecipe => ['sparse', length, at.filter(([i]) => i < length)]),
      entries.map((e): ValueRecipe => ['obj', e]),
      entries.map((e): ValueRecipe => ['nullproto', e]),
      entries.map((e): ValueRecipe => ['instance', e]),
      fc.array(fc.tuple(value, value), { maxLength: 3 }).map((e): ValueRecipe => ['map', e]),
      fc.array(value, { maxLength: 3 }).map((items): ValueRecipe => ['set', items]),
      value.map((v): ValueRecipe => ['shared', v]),
      fc.tuple(value, fc.constantFrom('obj', 'arr', 'map', 'set')).map(([v, shape]): ValueRecipe => ['cycle', v, shape]),
      value.map((v): ValueRecipe => ['getter', v]),
      value.map((v): ValueRecipe => ['hidden', v]),
      value.map((v): ValueRecipe => ['symbolKey', v]),
      fc
        .tuple(value, fc.constantFrom('null', 'array', 'map', 'date', 'error', 'point', 'uint16', 'buffer'))
        .map(([v, proto]): ValueRecipe => ['proto', v, proto]),
      value.map((v): ValueRecipe => ['toJSON', v]),
      value.map((v): ValueRecipe => ['proxy', v]),
      fc.tuple(fc.integer({ min: 1, max: 40 }), fc.constantFrom('obj', 'arr', 'map'), value).map(([depth, shape, leaf]): ValueRecipe => ['deep', depth, shape, leaf]),
    ),
  };
}).value;

/**
 * Big values: long strings, wide arrays and objects, deep nesting. Those nested deeper than {@link SAFE_DEPTH}
 * may be refused; the rest must arrive.
 */
export const bigRecipe: fc.Arbitrary<ValueRecipe> = fc.oneof(
  fc.tuple(fc.constantFrom('x', 'é', '😀', '\u2028', '\ud800'), fc.integer({ min: 1000, max: 1_000_000 })).map(([unit, count]): ValueRecipe => ['bigstr', unit, count]),
  fc.array(numberRecipe, { minLength: 500, maxLength: 5000 }).map((items): ValueRecipe => ['arr', items]),
  fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), leafRecipe), { minLength: 200, maxLength: 2000, selector: ([key]) => key }).map((e): ValueRecipe => ['obj', e]),
  fc.tuple(fc.integer({ min: 100, max: SAFE_DEPTH - 10 }), fc.constantFrom('obj', 'arr', 'map'), leafRecipe).map(([depth, shape, leaf]): ValueRecipe => ['deep', depth, shape, leaf]),
  // Too deep to send: refused where it is sent, before anything is written. The band of 2,000 to 5,000 levels
  // matters most: V8 writes such a value, and the receiver's deserializer would run out of stack inside
  // Node's IPC code (a result killing the parent, an argument the child).
  fc.tuple(fc.integer({ min: SAFE_DEPTH + 10, max: 20_000 }), fc.constantFrom('obj', 'arr', 'map'), leafRecipe).map(([depth, shape, leaf]): ValueRecipe => ['deep', depth, shape, leaf]),
);

/** Whether the value may be refused rather than arrive: one of the big ones nested deeper than {@link SAFE_DEPTH}. */
export function mayBeRefused(recipe: ValueRecipe): boolean {
  return recipe[0] === 'deep' && (recipe[1] as number) > SAFE_DEPTH;
}

const ERROR_KINDS = ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'CustomError', 'ProtoNamedError', 'AggregateError', 'DOMException'];
/** Own properties the wire format gives a meaning of its own, or that JSON or an object literal would not keep. */
const RESERVED_KEYS = new Set(['name', 'message', 'stack', 'code', 'cause', 'errors', 'toJSON', '__proto__']);
/** Hostilities that change the error in place, anywhere in a chain. */
const IN_PLACE_HOSTILITIES = ['getterThrows', 'toJSONThrows', 'toJSONNumber', 'messageThrows', 'nameThrows', 'messageNumber', 'stackNumber', 'nullPrototype', 'frozen'];
/** Hostilities that wrap the error, for the thrown one only (a cause that loops back would meet the bare error). */
const WRAPPING_HOSTILITIES = ['proxy', 'revokedProxy'];

const propsArb = fc.uniqueArray(
  fc.tuple(
    fc.string({ maxLength: 8 }).filter((key) => !RESERVED_KEYS.has(key)),
    fc.jsonValue({ maxDepth: 2 }),
  ),
  { maxLength: 3, selector: ([key]) => key },
);

function errorLink(hostilities: string[]): fc.Arbitrary<ErrorRecipe> {
  return fc.record(
    {
      kind: fc.constantFrom(...ERROR_KINDS),
      name: fc.constantFrom('AbortError', 'DataCloneError', 'NotFoundError', 'TimeoutError', 'QuotaExceededError', 'MadeUpError'),
      message: fc.string({ unit: 'binary', maxLength: 30 }),
      code: fc.oneof(fc.string({ maxLength: 12 }), fc.integer()),
      props: propsArb,
      errors: fc.array(
        fc.oneof(
          fc.record({ kind: fc.constantFrom('Error', 'TypeError', 'DOMException'), message: fc.string({ maxLength: 10 }) }),
          fc.jsonValue({ maxDepth: 1 }).map((data) => ({ data })),
        ),
        { maxLength: 3 },
      ),
      hostile: fc.constantFrom(...hostilities),
    },
    { requiredKeys: ['kind', 'message'] },
  ).map((link) => {
    // Node's DOMException is a class of its own, with no internal mark of an error: without its prototype
    // nothing can tell that it was one; and its getters refuse a proxy, so nothing of a proxied one can be read.
    if (link.kind === 'DOMException' && (link.hostile === 'nullPrototype' || link.hostile === 'proxy')) return { ...link, hostile: undefined };
    return link;
  });
}

/** A thrown value that is not an Error. */
const thrownValue: fc.Arbitrary<ErrorRecipe> = fc.oneof(leafRecipe, hostileLeafRecipe, valueRecipe).map((thrown) => ({ kind: 'value', thrown }));

/** An error recipe: a chain of one to four errors, ending in nothing, plain data, or a loop back; or a thrown non-Error. */
export const errorRecipe: fc.Arbitrary<ErrorRecipe> = fc.oneof(
  { weight: 5, arbitrary: chainRecipe() },
  { weight: 1, arbitrary: thrownValue },
);

function chainRecipe(): fc.Arbitrary<ErrorRecipe> {
  return fc
    .record({
      head: errorLink([...IN_PLACE_HOSTILITIES, ...WRAPPING_HOSTILITIES]),
      rest: fc.array(errorLink(IN_PLACE_HOSTILITIES), { maxLength: 3 }),
      end: fc.oneof(
        fc.constant(undefined),
        fc.nat(3).map((ref) => ({ ref })),
        fc.jsonValue({ maxDepth: 2 }).map((data) => ({ data })),
        thrownValue,
      ),
    })
    .map(({ head, rest, end }) => {
      const links = [head, ...rest].map((link) => ({ ...link }));
      // A wrapped head with causes would be looped back to bare; wrap only one that stands alone.
      if (links.length > 1 || end !== undefined) {
        if (WRAPPING_HOSTILITIES.includes(links[0].hostile ?? '')) delete links[0].hostile;
      }
      for (let i = 0; i + 1 < links.length; i++) links[i].cause = links[i + 1];
      if (end !== undefined) {
        links[links.length - 1].cause = 'ref' in end ? { ref: Math.min(end.ref, links.length - 1) } : end;
      }
      return links[0];
    });
}

// --- What must arrive ------------------------------------------------------------------------------

/** What a value becomes after one trip, or why it cannot make the trip. */
export type Trip = { sent: true; value: unknown } | { sent: false; why: string };

/**
 * One trip of `value` as an argument or a result. 'advanced' is structured clone as Node's own serializer
 * does it (a Buffer stays a Buffer). 'json' is JSON's round trip of the value inside an array (an undefined
 * becomes null), except that a function or symbol that JSON would drop or turn into null fails the trip.
 */
export function trip(value: unknown, serialization: Serialization): Trip {
  if (serialization === 'advanced') {
    try {
      return { sent: true, value: v8.deserialize(v8.serialize(value)) };
    } catch (error) {
      return { sent: false, why: String((error as Error).message) };
    }
  }
  let dropped: string | undefined;
  let text: string;
  try {
    text = JSON.stringify([value], (_key, item: unknown) => {
      if (typeof item === 'function' || typeof item === 'symbol') dropped ??= `a ${typeof item}`;
      return item;
    });
  } catch (error) {
    return { sent: false, why: String((error as Error).message) };
  }
  if (dropped !== undefined) return { sent: false, why: `JSON would drop ${dropped}` };
  return { sent: true, value: (JSON.parse(text) as unknown[])[0] };
}

// --- Comparing across realms ---------------------------------------------------------------------

const VIEW_CHECKS: Array<[string, (value: object) => boolean]> = [
  ['Int8Array', types.isInt8Array],
  ['Uint8Array', types.isUint8Array],
  ['Uint8ClampedArray', types.isUint8ClampedArray],
  ['Int16Array', types.isInt16Array],
  ['Uint16Array', types.isUint16Array],
  ['Int32Array', types.isInt32Array],
  ['Uint32Array', types.isUint32Array],
  ['Float32Array', types.isFloat32Array],
  ['Float64Array', types.isFloat64Array],
  ['BigInt64Array', types.isBigInt64Array],
  ['BigUint64Array', types.isBigUint64Array],
  ['DataView', types.isDataView],
];

/** What an object is, by its internal slots (and a Buffer, by its class). */
export function kindOf(value: object): string {
  if (Buffer.isBuffer(value)) return 'Buffer';
  for (const [kind, check] of VIEW_CHECKS) if (check(value)) return kind;
  if (types.isProxy(value)) return 'Proxy';
  if (types.isArrayBuffer(value)) return 'ArrayBuffer';
  if (types.isSharedArrayBuffer(value)) return 'SharedArrayBuffer';
  if (types.isMap(value)) return 'Map';
  if (types.isSet(value)) return 'Set';
  if (types.isDate(value)) return 'Date';
  if (types.isRegExp(value)) return 'RegExp';
  if (types.isNativeError(value)) return 'Error';
  if (types.isBoxedPrimitive(value)) return `boxed ${typeof (value as { valueOf(): unknown }).valueOf()}`;
  if (Array.isArray(value)) return 'Array';
  if (typeof value === 'function') return 'function';
  return 'Object';
}

/** A prototype by its shape: none, a realm's Object.prototype, or something else. */
function protoShape(value: object): string {
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === null) return 'no prototype';
  return Object.getPrototypeOf(proto) === null ? 'a plain prototype' : 'a prototype chain';
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** A short description of a value, for a failure message. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…(${value.length} chars)` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Object.is(value, -0)) return '-0';
  if (!isObject(value)) return String(value);
  return `${kindOf(value)} with ${protoShape(value)}`;
}

function bytesOf(value: object): Buffer {
  if (types.isArrayBuffer(value)) return Buffer.from(value);
  const view = value as ArrayBufferView;
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * The first way `actual` differs from `expected`, or undefined if it does not: primitives by `Object.is`,
 * objects by kind, prototype shape, own properties in order (their values and enumerability), contents
 * (Map and Set entries in order, bytes, times, patterns), and which objects are shared or loop back. An
 * Error's stack is not compared: a value made in a child has the child's.
 */
export function difference(actual: unknown, expected: unknown, { orderedKeys = true } = {}): string | undefined {
  const pairs = new Map<object, object>();
  const reverse = new Map<object, object>();
  const work: Array<[unknown, unknown, string]> = [[actual, expected, 'value']];
  while (work.length > 0) {
    const [a, e, path] = work.pop()!;
    if (!isObject(a) || !isObject(e)) {
      if (!Object.is(a, e)) return `${path}: expected ${show(e)}, got ${show(a)}`;
      continue;
    }
    // Each object of one side stands for one object of the other, wherever it is met: loops and sharing agree.
    if (pairs.has(a) || reverse.has(e)) {
      if (pairs.get(a) !== e || reverse.get(e) !== a) return `${path}: the objects shared (or looping back) differ`;
      continue;
    }
    pairs.set(a, e);
    reverse.set(e, a);
    const kind = kindOf(e);
    if (kindOf(a) !== kind) return `${path}: expected a ${kind}, got ${show(a)}`;
    if (protoShape(a) !== protoShape(e)) return `${path}: expected ${protoShape(e)}, got ${protoShape(a)}`;
    const at = (key: string | symbol) => (path.length > 200 ? `${path.slice(0, 100)}…${String(key)}` : `${path}.${String(key)}`);
    let ownKeys = true;
    switch (kind) {
      case 'Date':
        if (!Object.is((a as Date).getTime(), (e as Date).getTime())) return `${path}: dates differ`;
        ownKeys = false;
        break;
      case 'RegExp':
        if (String(a) !== String(e)) return `${path}: expected ${String(e)}, got ${String(a)}`;
        ownKeys = false;
        break;
      case 'Map': {
        const [ma, me] = [[...(a as Map<unknown, unknown>)], [...(e as Map<unknown, unknown>)]];
        if (ma.length !== me.length) return `${path}: expected ${me.length} entries, got ${ma.length}`;
        ma.forEach(([key, value], i) => work.push([key, me[i][0], `${at('key')}#${i}`], [value, me[i][1], `${at('get')}#${i}`]));
        break;
      }
      case 'Set': {
        const [sa, se] = [[...(a as Set<unknown>)], [...(e as Set<unknown>)]];
        if (sa.length !== se.length) return `${path}: expected ${se.length} members, got ${sa.length}`;
        sa.forEach((value, i) => work.push([value, se[i], `${at('member')}#${i}`]));
        break;
      }
      case 'Error':
        if ((a as Error).name !== (e as Error).name) return `${path}: expected an error named ${show((e as Error).name)}, got ${show((a as Error).name)}`;
        break;
      case 'Array':
        if ((a as unknown[]).length !== (e as unknown[]).length) return `${path}: expected length ${(e as unknown[]).length}, got ${(a as unknown[]).length}`;
        break;
      case 'Object':
        break;
      default:
        if (kind.startsWith('boxed ')) {
          if (!Object.is((a as object).valueOf(), (e as object).valueOf())) return `${path}: boxed values differ`;
        } else if (!bytesOf(a).equals(bytesOf(e))) {
          return `${path}: the bytes of the ${kind} differ`;
        }
        ownKeys = false;
    }
    if (!ownKeys) continue;
    const skip = (key: string | symbol) => (kind === 'Array' && key === 'length') || (kind === 'Error' && key === 'stack');
    const keysA = Reflect.ownKeys(a).filter((key) => !skip(key));
    const keysE = Reflect.ownKeys(e).filter((key) => !skip(key));
    if (!orderedKeys) {
      const byName = (x: string | symbol, y: string | symbol) => (String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0);
      keysA.sort(byName);
      keysE.sort(byName);
    }
    if (keysA.length !== keysE.length || keysA.some((key, i) => key !== keysE[i])) {
      return `${path}: expected keys ${JSON.stringify(keysE.map(String))}, got ${JSON.stringify(keysA.map(String))}`;
    }
    for (const key of keysE) {
      const da = Object.getOwnPropertyDescriptor(a, key)!;
      const de = Object.getOwnPropertyDescriptor(e, key)!;
      if (!('value' in da) || !('value' in de)) return `${at(key)}: an accessor where data was expected`;
      if (da.enumerable !== de.enumerable) return `${at(key)}: expected enumerable ${de.enumerable}`;
      work.push([da.value, de.value, at(key)]);
    }
  }
  return undefined;
}

// --- Errors ---------------------------------------------------------------------------------------

/** Hostilities after which the error's message cannot be read in the child, or is not a string. */
const MESSAGE_LOST = new Set(['messageThrows', 'messageNumber', 'revokedProxy']);
/** ... after which its name cannot be read (or it has none). */
const NAME_LOST = new Set(['nameThrows', 'nullPrototype', 'revokedProxy']);
/** ... after which its stack cannot be read, or is not a string. */
const STACK_LOST = new Set(['messageThrows', 'nameThrows', 'stackNumber', 'revokedProxy']);
// Where an error's stack is an accessor of its own (Node 22 and later), reading it through a proxy gives
// undefined: the child cannot see it, and the error crosses without it.
if (typeof Object.getOwnPropertyDescriptor(new Error(), 'stack')?.get === 'function') STACK_LOST.add('proxy');

const BUILT_IN_ERRORS: Record<string, new (...args: any[]) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
  DOMException,
};

/**
 * Whether the value is an Error. Under jest the global DOMException is the main realm's, whose prototype
 * chain ends at the main realm's Error.prototype, not the test's: it counts as well.
 */
function isError(value: unknown): value is Error {
  return value instanceof Error || value instanceof DOMException || types.isNativeError(value);
}

/** The name an error of this recipe has in the child. */
function nameOf(recipe: ErrorRecipe): string {
  if (recipe.kind === 'DOMException') return recipe.name ?? 'Error';
  return recipe.kind;
}

/** Plain data, as it arrives inside an error: JSON's rules in 'json', structured clone's in 'advanced'. */
function dataDifference(actual: unknown, data: unknown, serialization: Serialization, path: string): string | undefined {
  const expected = trip(data, serialization);
  if (!expected.sent) return `${path}: the test's own data could not be sent (${expected.why})`;
  // serialize-error drops an own key named __proto__ from what it rebuilds, at any depth: copied back with an
  // assignment it would set the prototype instead (a door to prototype pollution).
  const problem = difference(actual, withoutProtoKeys(expected.value), { orderedKeys: false });
  return problem === undefined ? undefined : `${path}: ${problem}`;
}

/** A copy of plain data without own keys named __proto__, at any depth. */
function withoutProtoKeys(value: unknown, seen = new Map<object, unknown>()): unknown {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || value instanceof Date || value instanceof RegExp) return value;
  if (seen.has(value)) return seen.get(value);
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    seen.set(value, copy);
    for (const item of value) copy.push(withoutProtoKeys(item, seen));
    return copy;
  }
  // By shape, not by `Object.prototype`: a value that made the trip was built in Node's main realm.
  if (kindOf(value) !== 'Object' || protoShape(value) !== 'a plain prototype') return value;
  const copy: Record<string, unknown> = {};
  seen.set(value, copy);
  for (const key of Object.keys(value)) {
    if (key !== '__proto__') copy[key] = withoutProtoKeys((value as Record<string, unknown>)[key], seen);
  }
  return copy;
}

/**
 * How an error that arrived differs from what API.md promises for the error its recipe threw, or undefined.
 * An Error keeps its name, message, code, own enumerable properties, cause (plain data, another error, or a
 * loop back) and its class where it is a built-in one, and its stack holds the child's; a thrown non-Error
 * arrives as an Error describing it. What a hostile error made unreadable in the child is not asked for.
 */
export function errorDifference(actual: unknown, recipe: ErrorRecipe, serialization: Serialization): string | undefined {
  if (!isError(actual)) return `expected an Error, got ${show(actual)}`;
  if (recipe.kind === 'value') return nonErrorDifference(actual, recipe.thrown!);
  const arrived: unknown[] = [];
  let current: unknown = actual;
  let link: ErrorRecipe = recipe;
  for (let depth = 0; ; depth++) {
    const path = `error${'.cause'.repeat(depth)}`;
    arrived.push(current);
    const problem = linkDifference(current, link, serialization, path);
    if (problem !== undefined) return problem;
    const cause = link.cause;
    if (link.hostile === 'revokedProxy') return undefined;
    const hasCause = Object.prototype.hasOwnProperty.call(current, 'cause');
    if (cause === undefined) return hasCause ? `${path}: has a cause it was not given` : undefined;
    // A cause that is a value of another kind: its form is not promised (an undefined one is not even sent).
    if ('kind' in cause && cause.kind === 'value') return undefined;
    if (!hasCause) return `${path}: lost its cause`;
    const next = (current as Error).cause;
    if ('ref' in cause) {
      return next === arrived[cause.ref] ? undefined : `${path}.cause: expected the loop back to error${'.cause'.repeat(cause.ref)}`;
    }
    if ('data' in cause) return dataDifference(next, cause.data, serialization, `${path}.cause`);
    current = next;
    link = cause;
  }
}

/** One error of a chain, all but its cause. */
function linkDifference(actual: unknown, recipe: ErrorRecipe, serialization: Serialization, path: string): string | undefined {
  if (!isError(actual)) return `${path}: expected an Error, got ${show(actual)}`;
  const error: Error = actual;
  const hostile = recipe.hostile ?? '';
  if (hostile === 'revokedProxy') return undefined;
  const name = nameOf(recipe);
  const builtIn = BUILT_IN_ERRORS[recipe.kind];
  if (builtIn !== undefined && !NAME_LOST.has(hostile) && !(actual instanceof builtIn)) {
    return `${path}: expected an instance of ${recipe.kind}, got ${show(error)} named ${show(error.name)}`;
  }
  if (!NAME_LOST.has(hostile) && actual.name !== name) return `${path}: expected the name ${show(name)}, got ${show(actual.name)}`;
  if (typeof actual.message !== 'string') return `${path}: its message is not a string but ${show(actual.message)}`;
  if (!MESSAGE_LOST.has(hostile) && actual.message !== recipe.message) {
    return `${path}: expected the message ${show(recipe.message)}, got ${show(actual.message)}`;
  }
  if (!STACK_LOST.has(hostile) && !(typeof actual.stack === 'string' && actual.stack.includes('boundary-values.js'))) {
    return `${path}: its stack does not hold the child's: ${show(actual.stack)}`;
  }
  const own = actual as unknown as Record<string, unknown>;
  if (recipe.code !== undefined && recipe.kind !== 'DOMException' && own.code !== recipe.code) {
    return `${path}: expected the code ${show(recipe.code)}, got ${show(own.code)}`;
  }
  for (const [key, data] of recipe.props ?? []) {
    if (!Object.prototype.propertyIsEnumerable.call(actual, key)) return `${path}: lost its own enumerable property ${show(key)}`;
    const problem = dataDifference(own[key], data, serialization, `${path}[${show(key)}]`);
    if (problem !== undefined) return problem;
  }
  if (recipe.kind === 'AggregateError') {
    const errors = own.errors;
    const expected = recipe.errors ?? [];
    if (!Array.isArray(errors) || errors.length !== expected.length) return `${path}: expected ${expected.length} errors, got ${show(errors)}`;
    for (let i = 0; i < expected.length; i++) {
      const item = expected[i];
      const problem =
        'data' in item
          ? dataDifference(errors[i], item.data, serialization, `${path}.errors[${i}]`)
          : linkDifference(errors[i], item, serialization, `${path}.errors[${i}]`);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

/** A thrown value that is not an Error: an Error describing it (serialize-error's NonError for a primitive). */
function nonErrorDifference(actual: Error, thrown: ValueRecipe): string | undefined {
  if (typeof actual.message !== 'string') return `its message is not a string but ${show(actual.message)}`;
  const [tag, value] = thrown as [string, unknown];
  let shown: string;
  if (tag === 'str' || tag === 'bool') shown = String(value);
  else if (tag === 'null' || tag === 'undef') shown = tag === 'null' ? 'null' : 'undefined';
  else if (tag === 'bigint') shown = `${String(value)}n`;
  else if (tag === 'num') shown = String(typeof value === 'string' ? Number(value) : value);
  else return undefined;
  if (actual.name !== 'NonError') return `expected a NonError for a thrown ${tag}, got ${show(actual.name)}`;
  if (!actual.message.includes(shown)) return `expected the message to show ${show(shown)}, got ${show(actual.message)}`;
  return undefined;
}
