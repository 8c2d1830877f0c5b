/**
 * A parent started by the ts-node binary (`ts-node main.ts`) as both sides see it. The binary's script and
 * flags sit in the parent's `process.execArgv`, where fork() would pass them to node, which rejects them:
 * the parent keeps them from its children and names that ts-node in their environment instead, so that a
 * child loads TypeScript task modules with it.
 */

/** A ts-node binary's script: ts-node, ts-node-transpile-only, ts-node-script, ts-node-cwd, ts-node-esm. */
export const TS_NODE_BINARY = /[\\/]ts-node[\\/]dist[\\/]bin(?:-[a-z-]+)?\.js$/;

/** The environment variable that carries the directory of the parent's ts-node to its children. */
export const TS_NODE_ENV = 'FORKPOOL_TS_NODE';
