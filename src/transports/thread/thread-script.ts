/**
 * Where the script every worker thread runs is: dist/thread.cjs, beside the library's own build and the child
 * script. Run from the TypeScript sources (ts-jest, ts-node), the build in dist/.
 */
import path from 'node:path';
import { buildDir } from '../../shared/build-dir';

/** File name of the thread script in dist/. */
export const THREAD_SCRIPT_NAME = 'thread.cjs';

/** The thread script beside this build. */
export function defaultThreadScript(): string {
  const dir = buildDir();
  return dir === undefined ? THREAD_SCRIPT_NAME : path.join(dir, THREAD_SCRIPT_NAME);
}
