/**
 * Child side: which format Node loads a module in (ES module or CommonJS, from its extension and the nearest
 * package.json's "type"), and the error for a module whose syntax does not fit it: ES `export` in a `.js` or
 * `.ts` file of a `"type": "commonjs"` package (what `npm init` writes), which Node, its type stripping
 * included, loads as CommonJS and fails on with a bare SyntaxError and a warning of its own.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { withCode } from '../src/errors';

export type ModuleKind = 'commonjs' | 'module';

/** The nearest package.json above a file, and the "type" it declares (undefined: none, which means CommonJS). */
export interface DeclaredType {
  manifest: string | undefined;
  type: string | undefined;
}

export function declaredTypeOf(file: string): DeclaredType {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    let text: string;
    try {
      text = readFileSync(manifest, 'utf8');
    } catch {
      if (dirname(dir) === dir) return { manifest: undefined, type: undefined };
      continue;
    }
    try {
      const { type } = JSON.parse(text) as { type?: unknown };
      return { manifest, type: typeof type === 'string' ? type : undefined };
    } catch {
      return { manifest, type: undefined };
    }
  }
}

/** `.mjs`/`.mts` and `.cjs`/`.cts` say it; other files are what the nearest package.json's "type" makes them. */
export function moduleKindOf(file: string): ModuleKind {
  if (/\.m[jt]s$/.test(file)) return 'module';
  if (/\.c[jt]s$/.test(file)) return 'commonjs';
  return declaredTypeOf(file).type === 'module' ? 'module' : 'commonjs';
}

/** What V8 says when CommonJS meets ES module syntax (the messages Node itself looks for). */
const ESM_SYNTAX = [
  'Cannot use import statement outside a module',
  "Unexpected token 'export'",
  "Cannot use 'import.meta' outside a module",
];

/** Node's warnings about the same mistake, which the task's error says better (Node 20; Node 22 and later). */
const NODE_FORMAT_WARNING = /^(To load an ES module, set "type": "module"|Failed to load the ES module: )/;

/** require() calls whose warning window is open: from the call until the next turn of the event loop. */
let muting = 0;
/** process.emit as it was before the first window opened; restored when the last one closes. */
let unmutedEmit: typeof process.emit | undefined;

/**
 * `require(file)`, failing with ERR_POOL_MODULE_FORMAT where a CommonJS-declared module uses ES module
 * syntax, without the warning Node prints about it.
 */
export function requireInFormat(requireFrom: NodeJS.Require, file: string): unknown {
  muteFormatWarnings();
  try {
    return requireFrom(file);
  } catch (error) {
    if (error instanceof SyntaxError && moduleKindOf(file) === 'commonjs' && ESM_SYNTAX.some((text) => error.message.includes(text))) {
      throw moduleFormatError(file, error);
    }
    throw error;
  } finally {
    // Node sends the warning on the next tick: the window stays open until the loop turns.
    setImmediate(unmuteFormatWarnings);
  }
}

/**
 * Node emits its warnings through `process.emit('warning')`; only that emit can be filtered. It is wrapped
 * only while a module loads here, so that the child's IPC messages (also emitted) pay nothing for it.
 */
function muteFormatWarnings(): void {
  if (muting++ > 0) return;
  const emit = (unmutedEmit = process.emit);
  process.emit = function (this: NodeJS.Process, event: string | symbol, ...args: unknown[]): boolean {
    const warning = args[0] as { message?: unknown } | undefined;
    if (event === 'warning' && typeof warning?.message === 'string' && NODE_FORMAT_WARNING.test(warning.message)) return false;
    return (emit as (...all: unknown[]) => boolean).call(this, event, ...args);
  } as typeof process.emit;
}

function unmuteFormatWarnings(): void {
  if (--muting > 0) return;
  process.emit = unmutedEmit!;
  unmutedEmit = undefined;
}

export function moduleFormatError(file: string, cause: unknown): Error {
  const { manifest, type } = declaredTypeOf(file);
  const declared =
    manifest === undefined
      ? 'no package.json above it declares "type": "module"'
      : type === undefined
        ? `its package.json (${manifest}) has no "type" field`
        : `its package.json (${manifest}) declares "type": "${type}"`;
  const typescript = /\.ts$/.test(file);
  const ways = [
    `set "type": "module" in ${manifest ?? 'a package.json beside it'}`,
    `rename it to ${typescript ? '.mts' : '.mjs'}`,
    typescript ? 'or load it with tsx (npm install --save-dev tsx), which compiles either format' : 'or write it as CommonJS (module.exports)',
  ];
  const error = new Error(
    `The task module ${file} uses ES module syntax (export/import), but ${declared}, so Node loads it as ` +
      `CommonJS. Ways out: ${ways.join(', ')}.`,
    { cause },
  );
  return withCode(error, 'ERR_POOL_MODULE_FORMAT');
}
