/**
 * Where the script every child runs is: dist/child.cjs, in the same directory as the library's own build
 * (dist/index.cjs). Run from the TypeScript sources (ts-jest, ts-node), the build in dist/.
 */
import path from 'node:path';
import { buildDir } from '../../shared/build-dir';

/** File name of the child script in dist/; `forkpool/child` in the package's exports. */
export const CHILD_SCRIPT_NAME = 'child.cjs';

/**
 * The child script beside this build. A bundled app has none there: it passes the path of its copy as the
 * `childScript` option (see options.ts, which says so when the file is missing).
 */
export function defaultChildScript(): string {
  const dir = buildDir();
  return dir === undefined ? CHILD_SCRIPT_NAME : path.join(dir, CHILD_SCRIPT_NAME);
}
