/**
 * Where the package's built files are (dist/): beside the running bundle, which is a CommonJS one whether
 * the library was imported or required (the ES module entry points re-export the CommonJS build, and the
 * child script is CommonJS too), or dist/ itself when the TypeScript sources run as they are (ts-jest,
 * ts-node). Asked when a file is needed, not when this module loads: only a pool that needs the file fails
 * for the lack of it.
 */
import { join } from 'node:path';

/** Undefined where a bundler turned the code into an ES module, which has no __dirname. */
export function buildDir(): string | undefined {
  if (typeof __dirname !== 'string') return undefined;
  // src/shared/ in the sources; the bundles sit in dist/ itself.
  return __filename.endsWith('.ts') ? join(__dirname, '..', '..', 'dist') : __dirname;
}
