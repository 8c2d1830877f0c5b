/**
 * What crosses the process boundary: arguments and results under both serializations, values that cannot
 * be sent, and task errors rebuilt in the parent.
 *
 * Values that arrive over IPC are built outside the test's realm, so their kinds are checked with
 * `util.types` and `Buffer.isBuffer` rather than `instanceof`. Errors are rebuilt by the pool in the caller's
 * realm, so `instanceof` holds for them.
 */
import { types } from 'node:util';
import { ProcessPoolExecutor, type Serialization } from '../src';
import { fixture, rejectionOf } from './helpers';
import { KINDS, describeFor, executorOf, idOf, idsOf, usePoolsOf, workerAlive, type AnyPool } from './kinds';

const VALUES = fixture('values.js');
const ERRORS = fixture('errors.js');

describe.each(KINDS)('%s', (_name, kind) => {
  const makePool = usePoolsOf(kind, { processes: 1 });

  describe("values under the default 'advanced' serialization", () => {
    test.each([
      ['a Buffer', Buffer.from('abc'), 'Buffer'],
      ['a Map', new Map([['k', 1]]), 'Map'],
      ['a Set', new Set([1, 2]), 'Set'],
      ['a Date', new Date(0), 'Date'],
      ['a BigInt', 12345678901234567890n, 'bigint'],
      ['an Int32Array', new Int32Array([1, -2]), 'Int32Array'],
      ['a Float64Array', new Float64Array([0.5]), 'Float64Array'],
      ['undefined', undefined, 'undefined'],
      ['a RegExp', /a+b/gi, 'RegExp'],
    ])('%s arrives in the child as itself', async (_, value, kind) => {
      const pool = makePool({ module: VALUES });
      await expect(pool.apply('kindOf', [value])).resolves.toBe(kind);
    });

    test('arguments round-trip intact, nested ones included', async () => {
      const pool = makePool({ module: VALUES });
      const value = {
        buffer: Buffer.from([1, 2, 3]),
        map: new Map<unknown, unknown>([[1, new Set(['a'])]]),
        date: new Date(1234567890),
        big: -(2n ** 80n),
        typed: new Uint16Array([65535]),
        missing: undefined,
        regexp: /^x$/m,
        list: [1, 'two', [3, { four: 4 }], null, undefined],
      };
      const back = (await pool.apply('echo', [value])) as typeof value;
      expect(back).toEqual(value);
      expect(Object.keys(back)).toContain('missing');
      expect(Buffer.isBuffer(back.buffer)).toBe(true);
      expect(types.isMap(back.map)).toBe(true);
      expect(types.isSet(back.map.get(1))).toBe(true);
      expect(types.isDate(back.date)).toBe(true);
      expect(typeof back.big).toBe('bigint');
      expect(types.isUint16Array(back.typed)).toBe(true);
      expect(types.isRegExp(back.regexp)).toBe(true);
      expect(back.regexp.flags).toBe('m');
    });

    test('results made in the child arrive intact', async () => {
      const pool = makePool({ module: VALUES });
      const sample = (await pool.apply('sample')) as Record<string, any>;
      expect(Buffer.isBuffer(sample.buffer)).toBe(true);
      expect(sample.buffer.toString()).toBe('abc');
      expect(types.isMap(sample.map)).toBe(true);
      expect(sample.map.get('k')).toEqual({ v: 1 });
      expect(types.isSet(sample.set)).toBe(true);
      expect([...sample.set]).toEqual([1, 'two']);
      expect(types.isDate(sample.date)).toBe(true);
      expect(sample.date.getTime()).toBe(86400000);
      expect(sample.bigint).toBe(2n ** 70n);
      expect(types.isInt32Array(sample.typed)).toBe(true);
      expect([...sample.typed]).toEqual([1, -2, 3]);
      expect('undef' in sample).toBe(true);
      expect(sample.undef).toBeUndefined();
      expect(types.isRegExp(sample.regexp)).toBe(true);
      expect(sample.regexp.source).toBe('x+y');
      expect(sample.regexp.flags).toBe('gi');
      const deep = sample.nested.list[1].deep;
      expect(types.isMap(deep)).toBe(true);
      expect(types.isSet(deep.get(1))).toBe(true);
    });

    test('an undefined result arrives as undefined', async () => {
      const pool = makePool();
      await expect(pool.apply(() => undefined)).resolves.toBeUndefined();
    });
  });

  // Threads exchange values by structured clone only: a ThreadPool refuses 'json'.
  const serializations: Serialization[] = kind === 'process' ? ['advanced', 'json'] : ['advanced'];

  describeFor(kind, 'process')("values under 'json' serialization", () => {
    test('plain data round-trips', async () => {
      const pool = makePool({ module: VALUES, serialization: 'json' });
      const value = { n: 1.5, s: 'text', b: false, nothing: null, list: [1, 'x', [true]], nested: { deep: { deeper: 'y' } } };
      await expect(pool.apply('echo', [value])).resolves.toEqual(value);
      await expect(pool.map('echo', ['a', 2, null])).resolves.toEqual(['a', 2, null]);
    });
  });

  describe.each<Serialization>(serializations)('what cannot be sent (%s)', (serialization) => {
    test('a function argument fails only that task, with a TypeError saying what could not be sent', async () => {
      const pool = makePool({ module: VALUES, serialization });
      // Submitted together: the task that can be sent must not be lost with the one that cannot.
      const [bad, good] = await Promise.allSettled([
        pool.apply('echo', [function secretHelper() {}]),
        pool.apply('echo', ['fine']),
      ]);
      expect(bad.status).toBe('rejected');
      const error = (bad as PromiseRejectedResult).reason as Error;
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/argument/i);
      expect(error.message).toMatch(/function|secretHelper/);
      expect(good).toEqual({ status: 'fulfilled', value: 'fine' });
      await expect(pool.apply('echo', [1])).resolves.toBe(1);
      expect(pool.broken).toBe(false);
    });

    test('a symbol argument fails only that task, with a TypeError saying what could not be sent', async () => {
      const pool = makePool({ module: VALUES, serialization });
      const error = await rejectionOf<Error>(pool.apply('echo', [{ key: Symbol('tag') }]));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/symbol/i);
      await expect(pool.apply('echo', ['next'])).resolves.toBe('next');
    });

    test('a function result fails only that task, with a TypeError saying what could not be sent', async () => {
      const pool = makePool({ module: fixture('unsendable.js'), serialization });
      const error = await rejectionOf<Error>(pool.apply('returnsFunction'));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/result/i);
      expect(error.message).toMatch(/function|helper/);
      await expect(pool.apply({ module: VALUES, name: 'echo' }, [2])).resolves.toBe(2);
      expect(pool.broken).toBe(false);
    });

    test('a symbol result fails only that task, with a TypeError saying what could not be sent', async () => {
      const pool = makePool({ module: fixture('unsendable.js'), serialization });
      const error = await rejectionOf<Error>(pool.apply('returnsSymbol'));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(/symbol/i);
      await expect(pool.apply({ module: VALUES, name: 'echo' }, [3])).resolves.toBe(3);
    });

    test('one unsendable result among many fails its map, and the pool goes on', async () => {
      const pool = makePool({ serialization });
      const fn = (x: number) => (x === 5 ? () => x : x);
      await expect(pool.map(fn, Array.from({ length: 10 }, (_, i) => i))).rejects.toThrow(TypeError);
      await expect(pool.map(fn, [1, 2, 3])).resolves.toEqual([1, 2, 3]);
    });
  });

  describe.each<Serialization>(serializations)('task errors (%s)', (serialization) => {
    test('built-in error classes come back as themselves', async () => {
      const pool = makePool({ module: ERRORS, serialization });
      const typeError = await rejectionOf<Error>(pool.apply('typeError'));
      expect(typeError).toBeInstanceOf(TypeError);
      expect(typeError.name).toBe('TypeError');
      expect(typeError.message).toBe('wrong type');
      const rangeError = await rejectionOf<Error>(pool.apply('rangeError'));
      expect(rangeError).toBeInstanceOf(RangeError);
      expect(rangeError.message).toBe('out of range');
    });

    test('name, message, code, own enumerable properties and cause are kept', async () => {
      const pool = makePool({ module: ERRORS, serialization });
      const error = await rejectionOf<Error>(pool.apply('detailed'));
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({
        name: 'Error',
        message: 'outer failure',
        code: 'E_DETAILED',
        details: { retry: true, attempts: [1, 2] },
      });
      expect(error.cause).toBeInstanceOf(TypeError);
      expect((error.cause as Error).message).toBe('inner failure');
    });

    test("the stack contains the child's stack", async () => {
      const pool = makePool({ module: ERRORS, serialization });
      const error = await rejectionOf<Error>(pool.apply('rangeError'));
      expect(error.stack).toContain(ERRORS);
      expect(error.stack).toContain('out of range');
    });

    test("and below it the parent's: the code that awaited the call, for every kind of call", async () => {
      const pool = makePool({ module: ERRORS, serialization, processes: 1 });
      // Named, so that their frames can be looked for.
      async function callerOfApply() {
        await pool.apply('rangeError');
      }
      async function callerOfMap() {
        await pool.map('rangeError', [1]);
      }
      async function callerOfImap() {
        for await (const _ of pool.imap('rangeError', [1]));
      }
      async function callerOfGet() {
        await pool.applyAsync('rangeError').get();
      }
      await using executor = executorOf(kind, { maxWorkers: 1, module: ERRORS, serialization });
      async function callerOfSubmit() {
        await executor.submit('rangeError');
      }
      for (const caller of [callerOfApply, callerOfMap, callerOfImap, callerOfGet, callerOfSubmit]) {
        const { stack } = await rejectionOf<Error>(caller());
        const [child, parent] = stack!.split('--- awaited in the parent process');
        expect(child).toContain(ERRORS);
        // "at async caller (...)" from Node, "at caller (...)" under jest, whose source maps rewrite the frames.
        expect(parent).toMatch(new RegExp(`at (async )?${caller.name} \\(${__filename}`));
      }
    });

    test("a custom error class keeps its name and properties", async () => {
      const pool = makePool({ module: ERRORS, serialization });
      const error = await rejectionOf<Error>(pool.apply('custom'));
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe('QuotaError');
      expect(error.message).toBe('over quota');
      expect(error).toMatchObject({ limit: 5 });
    });

    test('a rejected promise of an async task is rebuilt the same way', async () => {
      const pool = makePool({ module: ERRORS, serialization });
      const error = await rejectionOf<Error>(pool.apply('rejects'));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.message).toBe('async rejection');
    });

    test.each([
      ['42', 42],
      ['a string', 'str'],
      ['null', null],
      ['undefined', undefined],
    ])('throwing %s rejects with an error describing the value', async (_, value) => {
      const pool = makePool({ module: ERRORS, serialization });
      // No argument rather than `undefined`: JSON would send an undefined argument as null.
      const error = await rejectionOf<Error>(pool.apply('throwValue', value === undefined ? [] : [value]));
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toContain(String(value));
      // The pool is fine afterwards.
      await expect(pool.apply({ module: VALUES, name: 'echo' }, [1])).resolves.toBe(1);
    });
  });

  describe('long runs of numbers', () => {
    // Chunks of plain numbers travel in a packed form; every double must come back exactly, -0 and NaN too.
    const numbers = Array.from({ length: 500 }, (_, i) =>
      i % 7 === 0 ? -0 : i % 11 === 0 ? NaN : i % 13 === 0 ? Number.MAX_VALUE : i % 17 === 0 ? -Infinity : i / 3,
    );

    test.each(serializations)('come back exactly from map and imap (%s)', async (serialization) => {
      const pool = makePool({ processes: 2, serialization });
      const expected = serialization === 'json' ? numbers.map((x) => JSON.parse(JSON.stringify(x))) : numbers;
      // The default chunksize here (63) is below what map packs; 250 is above it.
      for (const chunksize of [undefined, 250]) {
        const mapped = await pool.map((x: number) => x, numbers, { chunksize });
        expect(Array.isArray(mapped)).toBe(true);
        expect(mapped.every((value, i) => Object.is(value, expected[i]))).toBe(true);
      }
      const streamed: number[] = [];
      for await (const value of pool.imap((x: number) => x, numbers, { chunksize: 100 })) streamed.push(value);
      expect(streamed.every((value, i) => Object.is(value, expected[i]))).toBe(true);
    });

    test('mixed with other values, stay what they were', async () => {
      const pool = makePool({ processes: 1 });
      const mixed: unknown[] = [...numbers.slice(0, 100), '7', 8n, null, undefined];
      const echoed = await pool.map((x: unknown) => x, mixed, { chunksize: mixed.length });
      expect(echoed.every((value, i) => Object.is(value, mixed[i]))).toBe(true);
    });
  });
});
