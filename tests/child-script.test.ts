/**
 * The script children run: the `childScript` option, which a bundled app points at its own copy of
 * `forkpool/child`, and that copy working on its own, with no node_modules anywhere around it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Pool } from '../src';
import { rejectionOf, thrownBy, usePools, useScratchDir } from './helpers';
import { childrenOf, expectNoChildrenLeft } from './faults-helpers';

const BUILT_CHILD_SCRIPT = path.join(__dirname, '..', 'dist', 'child.cjs');

const makePool = usePools({ processes: 1 });
const scratch = useScratchDir('forkpool-child-script-');

afterAll(expectNoChildrenLeft);

/** A copy of the built child script, alone in a scratch directory. */
function copiedChildScript(name = 'forkpool-child.cjs'): string {
  const copy = path.join(scratch(), name);
  fs.copyFileSync(BUILT_CHILD_SCRIPT, copy);
  return copy;
}

test('children run the script `childScript` names', async () => {
  const copy = copiedChildScript();
  const pool = makePool({ childScript: copy });
  await expect(pool.apply(() => process.argv[1])).resolves.toBe(copy);
});

test('a relative `childScript` is resolved against the directory the pool is created in', async () => {
  const copy = copiedChildScript();
  const pool = makePool({ childScript: path.relative(process.cwd(), copy) });
  await expect(pool.apply(() => process.argv[1])).resolves.toBe(copy);
});

test('the child script needs nothing beside it: a task error comes back as itself', async () => {
  // The child script used to require() serialize-error at the first error: a copy without node_modules
  // then died, and an ordinary error became a BrokenPoolError.
  const pool = makePool({ childScript: copiedChildScript() });
  const error = await rejectionOf<RangeError & { code: string }>(
    pool.apply(() => {
      throw Object.assign(new RangeError('out of range'), { code: 'E_RANGE' });
    }),
  );
  expect(error).toBeInstanceOf(RangeError);
  expect(error.message).toBe('out of range');
  expect(error.code).toBe('E_RANGE');
  await expect(pool.apply((x: number) => x + 1, [1])).resolves.toBe(2);
  expect(pool.broken).toBe(false);
});

test('a `childScript` that is not a path is refused, naming the option', () => {
  for (const value of [42, '', null, ['child.cjs']]) {
    const error = thrownBy(() => new Pool({ processes: 1, childScript: value as string }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain('childScript');
  }
});

test('a `childScript` that does not exist is refused at creation, naming it, and no child starts', () => {
  const missing = path.join(scratch(), 'nowhere', 'child.cjs');
  const before = childrenOf(process.pid);
  const error = thrownBy(() => new Pool({ processes: 1, childScript: missing })) as Error & { code: string };
  expect(error.code).toBe('ERR_POOL_NO_CHILD_SCRIPT');
  expect(error.message).toContain(missing);
  expect(childrenOf(process.pid).filter((pid) => !before.includes(pid))).toEqual([]);
});
