/**
 * Where the script every child runs is: dist/child.cjs, in the same directory as the library's own build
 * (dist/index.cjs, dist/index.mjs). Run from the TypeScript sources (ts-jest, ts-node), the build in dist/.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** File name of the child script in dist/; `forkpool/child` in the package's exports. */
export const CHILD_SCRIPT_NAME = 'child.cjs';

/**
 * `import.meta.url` in the ES module build, `undefined` in the CommonJS one (scripts/build.mjs defines it).
 * Not defined at all when the sources run as they are.
 */
declare const FORKPOOL_MODULE_URL: string | undefined;

/**
 * The child script beside this build. Asked when a pool is created, not when this module loads: a bundler
 * that turns the ES module build into CommonJS leaves `import.meta.url` empty, and only a pool that uses
 * the default may fail for it (it then says so; see `childScript`).
 */
export function defaultChildScript(): string {
  if (typeof __dirname === 'string') {
    const sources = __filename.endsWith('.ts');
    return path.join(__dirname, ...(sources ? ['..', '..', 'dist'] : []), CHILD_SCRIPT_NAME);
  }
  const moduleUrl = typeof FORKPOOL_MODULE_URL === 'string' ? FORKPOOL_MODULE_URL : undefined;
  if (moduleUrl === undefined) return CHILD_SCRIPT_NAME;
  return path.join(path.dirname(fileURLToPath(moduleUrl)), CHILD_SCRIPT_NAME);
}
