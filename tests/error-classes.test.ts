/**
 * errorClasses: a task's error of a registered class comes back as that class, as Python re-raises the same
 * exception class; an unregistered one comes back as an Error with the class's name.
 */
import { Pool, ProcessPoolExecutor } from '../src';
import { fixture, rejectionOf, thrownBy, usePools } from './helpers';

const TASKS = fixture('python-tasks.js');
type Tasks = typeof import('./fixtures/python-tasks');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { HttpError, ZeroDivisionError } = require(TASKS) as Tasks;

const makePool = usePools({ processes: 1, module: TASKS });

test('a registered class comes back as itself: instanceof, its own properties, the child\'s stack', async () => {
  const pool = makePool<Tasks>({ errorClasses: [HttpError] });
  const error = await rejectionOf<InstanceType<typeof HttpError>>(pool.apply('httpFail', [404]));
  expect(error).toBeInstanceOf(HttpError);
  expect(error).toBeInstanceOf(Error);
  expect(error.status).toBe(404);
  expect(error.message).toBe('request failed with 404');
  expect(error.stack).toContain('python-tasks.js');
  // Its constructor was not called in the parent: the status is the one the child set.
  expect(Object.keys(error)).toContain('status');
});

test('a class is known by its own name, and also by the name its errors carry', async () => {
  const pool = makePool<Tasks>({ errorClasses: [ZeroDivisionError, HttpError] });
  await expect(pool.apply('reciprocal', [0])).rejects.toBeInstanceOf(ZeroDivisionError);
  // HttpError does not set `name`: its errors say 'Error', and still come back as HttpError.
  const error = await rejectionOf<Error>(pool.apply('httpFail', [500]));
  expect(error).toBeInstanceOf(HttpError);
  expect(error.name).toBe('Error');
});

test('an unregistered class arrives as an Error with the class\'s name', async () => {
  const pool = makePool<Tasks>();
  const error = await rejectionOf<Error & { status?: number }>(pool.apply('reciprocal', [0]));
  expect(error).not.toBeInstanceOf(ZeroDivisionError);
  expect(error).toBeInstanceOf(Error);
  expect(error.name).toBe('ZeroDivisionError');
});

test('the executor takes errorClasses too, and so do the causes of an error', async () => {
  const executor = new ProcessPoolExecutor<Tasks>({ maxWorkers: 1, module: TASKS, errorClasses: [ZeroDivisionError, HttpError] });
  try {
    await expect(executor.submit('reciprocal', 0).result()).rejects.toBeInstanceOf(ZeroDivisionError);
    const wrapped = await rejectionOf<Error>(
      executor.submit((status: number, module: string) => {
        try {
          require(module).httpFail(status);
        } catch (cause) {
          throw new Error('wrapped', { cause });
        }
      }, 418, TASKS).result(),
    );
    expect(wrapped.cause).toBeInstanceOf(HttpError);
  } finally {
    await executor.shutdown();
  }
});

test.each([[['not a class']], [[function plain() {}]], ['HttpError'], [[class NotAnError {}]]])(
  'errorClasses: %p is refused with a TypeError naming the option',
  (errorClasses) => {
    const error = thrownBy(() => new Pool({ processes: 1, errorClasses: errorClasses as never }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/errorClasses/);
  },
);
