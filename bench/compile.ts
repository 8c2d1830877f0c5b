/**
 * The measuring processes run plain JavaScript: a TypeScript compiler loaded in them would add its start-up to
 * every measurement and its memory to every parent RSS, and fork-based pools would pass a `-r` hook on to
 * their children. So bench/*.ts is transpiled once per run (no type check: `npm run typecheck` does that).
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { BENCH, TRANSPILED } from './paths';

/** Directories of bench/ that hold no TypeScript for the measuring processes (node_modules: the peers' own sources). */
const SKIP = new Set(['python', 'tasks', 'node_modules']);

/** Transpile bench/**\/*.ts into TRANSPILED/bench/, keeping the layout; returns the path of measure.js. */
export function transpileBench(): string {
  const out = path.join(TRANSPILED, 'bench');
  fs.rmSync(out, { recursive: true, force: true });
  for (const source of listSources(BENCH)) {
    const { outputText } = ts.transpileModule(fs.readFileSync(source, 'utf8'), {
      fileName: source,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    });
    const target = path.join(out, path.relative(BENCH, source)).replace(/\.ts$/, '.js');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, outputText);
  }
  return path.join(out, 'measure.js');
}

function listSources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return SKIP.has(entry.name) ? [] : listSources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}
