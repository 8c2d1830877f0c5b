/**
 * Builds the native part of SharedMemory, native/shared-memory.c, into dist/native/forkpool-<platform>-<arch>.node,
 * the file src/shared/native.ts loads. Called by scripts/build.mjs.
 *
 * Offline and without node-gyp: gcc compiles the one C file against the Node-API headers of the
 * node-api-headers package. Node-API is a stable ABI, so the one binary loads in every Node version the package
 * supports, and the package ships it: users need no compiler and download nothing.
 *
 * Only Linux x64 has a binary. There a failed compile fails the build, so that no release ships without it;
 * elsewhere SharedMemory runs in copy mode, which this says in one line.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The platforms with a binary, as `${process.platform}-${process.arch}`. */
const TARGETS = ['linux-x64'];

/** Compile the addon into `dist`/native. Returns the binary's path, or undefined where there is none. */
export function buildNative(root, dist) {
  const target = `${process.platform}-${process.arch}`;
  if (!TARGETS.includes(target)) {
    console.log(`forkpool: no native binary for ${target}; SharedMemory runs in copy mode there.`);
    return undefined;
  }
  const headers = path.join(root, 'node_modules', 'node-api-headers', 'include');
  if (!fs.existsSync(path.join(headers, 'node_api.h'))) {
    throw new Error(`The Node-API headers are missing (${headers}): run npm ci.`);
  }
  const output = path.join(dist, 'native', `forkpool-${target}.node`);
  fs.mkdirSync(path.dirname(output), { recursive: true });
  const args = [
    '-shared',
    '-fPIC',
    '-O2',
    '-std=c11',
    '-Wall',
    '-Wextra',
    // Export only the module's entry point; strip the rest. Node's own symbols (napi_*) stay undefined
    // here and are found in the node executable when the binary is loaded.
    '-fvisibility=hidden',
    '-s',
    '-I',
    headers,
    '-o',
    output,
    path.join(root, 'native', 'shared-memory.c'),
  ];
  try {
    execFileSync('gcc', args, { cwd: root, stdio: 'inherit' });
  } catch (error) {
    const why = error.code === 'ENOENT' ? 'gcc is not installed' : `gcc failed (${error.status ?? error.signal})`;
    // No fallback to copy mode here: a package for this platform must not ship without its binary.
    throw new Error(`Building SharedMemory's native part for ${target} needs gcc, and ${why}.`, { cause: error });
  }
  return output;
}
