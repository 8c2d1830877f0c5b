/**
 * Property tests at the process boundary. Generated values (every structured-clone type, odd prototypes,
 * getters, cycles, shared objects, big and deep shapes, and things that cannot be sent) go to a child as
 * arguments and come back as results; others are made in the child and returned; generated errors (classes,
 * codes, own properties, cause chains and loops, non-Error throws, DOMExceptions, AggregateErrors, errors
 * with getters that throw) are thrown there. Under both serializations, each value arrives as the rules of
 * its serialization say (boundary-helpers.ts, `trip`) or fails its one task with ERR_POOL_UNSENDABLE; each
 * error arrives as API.md promises (boundary-helpers.ts, `errorDifference`); and after every case the pool
 * answers the next call, from the same children.
 *
 * The number of cases per property is FORKPOOL_PROPERTY_RUNS (100 by default, 1,000 under `npm run
 * test:slow`), from a fixed seed unless FORKPOOL_PROPERTY_SEED says otherwise ('random' under test:slow). A
 * failing run prints fast-check's seed and path: FORKPOOL_PROPERTY_SEED and FORKPOOL_PROPERTY_PATH replay it.
 */
import fc from 'fast-check';
import { Pool, type Serialization } from '../src';
import {
  PROPERTY_RUNS,
  bigRecipe,
  difference,
  errorDifference,
  errorRecipe,
  mayBeRefused,
  show,
  trip,
  valueRecipe,
  type ErrorRecipe,
  type Trip,
} from './boundary-helpers';
import { expectNoChildrenLeft } from './faults-helpers';
// The same builder the children use, so that the test knows what they made.
import { build } from './fixtures/boundary-values';
import { fixture } from './helpers';


const VALUES = fixture('boundary-values.js');
/** Longest any one call may take before the case counts as a hang. */
const CALL_LIMIT_MS = 20_000;
/** Each property's time: a case takes a few milliseconds, a big one (a megabyte string, a deep map) a little more. */
const PROPERTY_TIMEOUT_MS = Math.max(30_000, PROPERTY_RUNS * 100);

/**
 * `npm test` replays the same cases every run, so that its verdict depends on the code alone; `npm run
 * test:slow` (which sets FORKPOOL_PROPERTY_SEED to 'random') explores new ones each time.
 */
const SEED = process.env.FORKPOOL_PROPERTY_SEED ?? '20261127';

const parameters: fc.Parameters<unknown> = {
  numRuns: PROPERTY_RUNS,
  ...(SEED === 'random' ? {} : { seed: Number(SEED) }),
  ...(process.env.FORKPOOL_PROPERTY_PATH === undefined ? {} : { path: process.env.FORKPOOL_PROPERTY_PATH }),
};

/** Settle `promise`, or fail as a hang after CALL_LIMIT_MS. */
async function settle<T>(promise: Promise<T>, what: string): Promise<PromiseSettledResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${CALL_LIMIT_MS} ms`)), CALL_LIMIT_MS);
  });
  try {
    const [outcome] = await Promise.race([Promise.allSettled([promise]), hang]);
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One pool per serialization for the whole file, two children, default crash policy ('break'): a value that
 * killed a child would break it. After a case that leaves it unwell, it is replaced, so that the cases after
 * (and fast-check's shrinking) run on a sound pool, and the case fails.
 */
class BoundaryPool {
  pool!: Pool;
  #pids: number[] = [];

  constructor(readonly serialization: Serialization) {}

  async start(): Promise<void> {
    this.pool = new Pool({ processes: 2, module: VALUES, serialization: this.serialization });
    // Every child has started, and the pids are those of the children that must still be there later.
    await Promise.all([this.pool.apply('pid'), this.pool.apply('pid')]);
    this.#pids = [...this.pool.pids].sort();
  }

  /** Throws, after replacing the pool, unless it answers a trivial call from the same two children. */
  async expectHealthy(): Promise<void> {
    let problem: string | undefined;
    const answer = await settle(this.pool.apply('echo', [7]), 'a trivial call after the case');
    if (answer.status === 'rejected') problem = `the next call failed: ${String(answer.reason)}`;
    else if (answer.value !== 7) problem = `the next call answered ${show(answer.value)}`;
    else if (this.pool.broken) problem = 'the pool is broken';
    else if ([...this.pool.pids].sort().join() !== this.#pids.join()) problem = `its children changed: ${this.#pids.join()} -> ${this.pool.pids.join()}`;
    if (problem === undefined) return;
    await this.stop();
    await this.start();
    throw new Error(`The pool is not well after the case: ${problem}`);
  }

  async stop(): Promise<void> {
    this.pool.terminate();
    await this.pool.join();
  }
}

/** The failure of one task whose value could not be sent: a TypeError with ERR_POOL_UNSENDABLE. */
function unsendableProblem(outcome: PromiseSettledResult<unknown>, why: string): string | undefined {
  if (outcome.status === 'fulfilled') return `expected ERR_POOL_UNSENDABLE (${why}), got the result ${show(outcome.value)}`;
  const error = outcome.reason as { code?: unknown };
  if (!(outcome.reason instanceof TypeError) || error.code !== 'ERR_POOL_UNSENDABLE') {
    return `expected a TypeError with ERR_POOL_UNSENDABLE (${why}), got ${String(outcome.reason)} (code ${show(error?.code)})`;
  }
  return undefined;
}

/** The outcome against what must arrive: that value, or ERR_POOL_UNSENDABLE; either, where `refusable`. */
function outcomeProblem(outcome: PromiseSettledResult<unknown>, expected: Trip, refusable = false): string | undefined {
  // A typed array stripped of its prototype: v8.serialize() here refuses it on Node 24, where the IPC
  // channel's serializer takes it (it arrives as a plain typed array). Either outcome keeps the rules.
  if (!expected.sent && /host object/.test(expected.why) && outcome.status === 'fulfilled') return undefined;
  if (!expected.sent) return unsendableProblem(outcome, expected.why);
  if (outcome.status === 'rejected') {
    if (refusable && unsendableProblem(outcome, 'too deep') === undefined) return undefined;
    const error = outcome.reason as { code?: unknown };
    return `expected the value to arrive, got ${String(outcome.reason)} (code ${show(error?.code)})`;
  }
  return difference(outcome.value, expected.value);
}

/** The expectation of two trips: there as an argument, back as a result. */
function roundTrip(value: unknown, serialization: Serialization): Trip {
  const there = trip(value, serialization);
  return there.sent ? trip(there.value, serialization) : there;
}

afterAll(expectNoChildrenLeft);

describe.each<Serialization>(['advanced', 'json'])('serialization %s', (serialization) => {
  const boundary = new BoundaryPool(serialization);
  beforeAll(() => boundary.start());
  afterAll(() => boundary.stop());

  /** Run one case's call and its check, then make sure the pool is well. */
  async function check(call: () => Promise<unknown>, problemOf: (outcome: PromiseSettledResult<unknown>) => string | undefined): Promise<void> {
    const outcome = await settle(call(), 'the call');
    const problem = problemOf(outcome);
    await boundary.expectHealthy();
    if (problem !== undefined) throw new Error(problem);
  }

  test('a generated argument comes back from an inline task as the rules say, or fails alone', async () => {
    const input = fc.oneof(
      { weight: 3, arbitrary: valueRecipe.map((recipe) => ({ recipe })) },
      {
        weight: 1,
        arbitrary: fc
          .anything({ withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true, withTypedArray: true, stringUnit: 'binary' })
          .map((any) => ({ any })),
      },
    );
    await fc.assert(
      fc.asyncProperty(input, async (generated) => {
        const value = 'recipe' in generated ? build(generated.recipe) : generated.any;
        const expected = roundTrip(value, serialization);
        await check(() => boundary.pool.apply((v: unknown) => v, [value]), (outcome) => outcomeProblem(outcome, expected));
      }),
      parameters,
    );
  }, PROPERTY_TIMEOUT_MS);

  test('a generated value made in the child arrives as the rules say, or fails alone', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 4, arbitrary: valueRecipe }, { weight: 1, arbitrary: bigRecipe }), async (recipe) => {
        // A task's promise is awaited in the child: what arrives is what it resolves to, or its error.
        let made = build(recipe);
        let thrown: string | undefined;
        if (typeof (made as PromiseLike<unknown> | undefined)?.then === 'function') {
          try {
            made = await made;
          } catch (error) {
            thrown = (error as Error).message;
          }
        }
        const expected = trip(made, serialization);
        await check(
          () => boundary.pool.apply('make', [recipe]),
          (outcome) =>
            thrown === undefined
              ? outcomeProblem(outcome, expected, mayBeRefused(recipe))
              : outcome.status === 'rejected' && (outcome.reason as Error).message === thrown
                ? undefined
                : `expected the task's own error ${show(thrown)}, got ${outcome.status === 'rejected' ? String(outcome.reason) : show(outcome.value)}`,
        );
      }),
      parameters,
    );
  }, PROPERTY_TIMEOUT_MS);

  test('generated items of a map, mostly numbers, come back in order, or the map fails alone', async () => {
    // Long runs of numbers travel packed (src/shared/packing.ts): every double must survive, -0 and NaN too.
    const items = fc.array(fc.oneof({ weight: 9, arbitrary: fc.double() }, { weight: 1, arbitrary: valueRecipe.map((recipe) => ({ recipe })) }), { maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(items, fc.integer({ min: 1, max: 100 }), async (generated, chunksize) => {
        const values = generated.map((item) => (typeof item === 'number' ? item : build(item.recipe)));
        const trips = values.map((value) => roundTrip(value, serialization));
        const refused = trips.find((t): t is Extract<Trip, { sent: false }> => !t.sent);
        const expected: Trip = refused ?? { sent: true, value: trips.map((t) => (t as { value: unknown }).value) };
        await check(() => boundary.pool.map((v: unknown) => v, values, { chunksize }), (outcome) => outcomeProblem(outcome, expected));
      }),
      parameters,
    );
  }, PROPERTY_TIMEOUT_MS);

  test('a generated error thrown or rejected in the child arrives as API.md says', async () => {
    await fc.assert(
      fc.asyncProperty(errorRecipe, fc.constantFrom('throwError', 'rejectError'), async (recipe: ErrorRecipe, task) => {
        await check(
          () => boundary.pool.apply(task, [recipe]),
          (outcome) => (outcome.status === 'fulfilled' ? `expected a rejection, got ${show(outcome.value)}` : errorDifference(outcome.reason, recipe, serialization)),
        );
      }),
      parameters,
    );
  }, PROPERTY_TIMEOUT_MS);
});
