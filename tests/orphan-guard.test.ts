/**
 * The orphan guard's fallback: without its shell, or when the shell fails, children must watch for their
 * parent's death themselves, and the user is told once, with a process warning.
 */
import { EventEmitter } from 'node:events';
import { useWarnings } from './helpers';

const WARNING = 'ForkpoolOrphanGuardWarning';

/** A fresh copy of the module, with `fs.existsSync` and `spawn` as given. */
function loadGuard(options: { shellExists: boolean; spawn?: () => unknown }): typeof import('../src/transports/process/orphan-guard') {
  let loaded: typeof import('../src/transports/process/orphan-guard') | undefined;
  jest.isolateModules(() => {
    jest.doMock('node:fs', () => ({ ...jest.requireActual('node:fs'), existsSync: () => options.shellExists }));
    jest.doMock('node:child_process', () => ({ ...jest.requireActual('node:child_process'), spawn: options.spawn }));
    loaded = require('../src/transports/process/orphan-guard');
  });
  return loaded!;
}

const emitted = useWarnings();
afterEach(() => {
  jest.dontMock('node:fs');
  jest.dontMock('node:child_process');
});

test('no /bin/sh: children watch for themselves, and a warning says so once', () => {
  if (process.platform === 'win32') return;
  const { OrphanGuard } = loadGuard({ shellExists: false });
  const guards = [new OrphanGuard(), new OrphanGuard()];
  expect(guards.map((guard) => guard.childrenWatch)).toEqual([true, true]);
  expect(emitted().map((w) => w.name)).toEqual([WARNING]);
  expect(emitted()[0].message).toMatch(/\/bin\/sh was not found.*watches for that itself/);
});

test('a shell that cannot be spawned: the pool is told, later children watch for themselves', () => {
  const spawn = jest.fn(() => {
    throw Object.assign(new Error('spawn /bin/sh EMFILE'), { code: 'EMFILE' });
  });
  const { OrphanGuard } = loadGuard({ shellExists: true, spawn });
  const onFail = jest.fn();
  const guard = new OrphanGuard(onFail);
  expect(guard.childrenWatch).toBe(false);
  guard.watch(12345);
  guard.start();
  expect(onFail).toHaveBeenCalledTimes(1);
  expect(guard.childrenWatch).toBe(true);
  expect(emitted().map((w) => w.message)).toEqual([expect.stringMatching(/could not be started \(spawn \/bin\/sh EMFILE\)/)]);
});

test('a shell that dies while it guards: the pool is told', () => {
  const shell = Object.assign(new EventEmitter(), {
    stdin: Object.assign(new EventEmitter(), { write: jest.fn(), end: jest.fn(), unref: jest.fn() }),
    unref: jest.fn(),
  });
  const { OrphanGuard } = loadGuard({ shellExists: true, spawn: () => shell });
  const onFail = jest.fn();
  const guard = new OrphanGuard(onFail);
  guard.watch(12345);
  guard.start();
  expect(shell.stdin.write).toHaveBeenCalledWith('12345\n');
  shell.emit('exit', null, 'SIGKILL');
  expect(onFail).toHaveBeenCalledTimes(1);
  expect(guard.childrenWatch).toBe(true);
});

test('a shell whose spawn reports EMFILE later, with no stdin (as some Node versions do): the pool is told, nothing throws', async () => {
  const shell = Object.assign(new EventEmitter(), { stdin: undefined, unref: jest.fn() });
  const { OrphanGuard } = loadGuard({ shellExists: true, spawn: () => shell });
  const onFail = jest.fn();
  const guard = new OrphanGuard(onFail);
  guard.watch(12345);
  guard.start();
  expect(onFail).toHaveBeenCalledTimes(1);
  // The 'error' that follows has a listener: it does not become an uncaught exception.
  shell.emit('error', Object.assign(new Error('spawn /bin/sh EMFILE'), { code: 'EMFILE' }));
  expect(onFail).toHaveBeenCalledTimes(1);
  expect(guard.childrenWatch).toBe(true);
});
