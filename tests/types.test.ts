/**
 * The static types of `Pool<M>`: task names, arguments and results checked against the default module.
 *
 * Test files are transpiled without type checking, so tests/fixtures/typed-usage.ts is compiled here
 * with the TypeScript compiler and the project's own options. It holds correct uses, which must compile, and
 * wrong ones, each under a `@ts-expect-error` comment, which must each be an error.
 */
import path from 'node:path';
import ts from 'typescript';
import { fixture } from './helpers';

const ROOT = path.join(__dirname, '..');
const USAGE = fixture('typed-usage.ts');
const UNTYPED_USAGE = fixture('untyped-usage.ts');
const DIRECTIVE = /\/\/ @ts-expect-error/;

function compilerOptions(): ts.CompilerOptions {
  const configFile = path.join(ROOT, 'tsconfig.json');
  const config = ts.readConfigFile(configFile, (file) => ts.sys.readFile(file));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT, undefined, configFile);
  // The usage files need no test-runner globals; leaving jest's types out keeps the compile quick.
  return { ...parsed.options, types: ['node'], noEmit: true };
}

/** Compile a usage file, with its source optionally rewritten; the diagnostics of that file and the project. */
function compile(options: ts.CompilerOptions, rewrite?: (text: string) => string, oldProgram?: ts.Program, root = USAGE) {
  const host = ts.createCompilerHost(options);
  if (rewrite !== undefined) {
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (file, language, onError, create) =>
      path.resolve(file) === root
        ? ts.createSourceFile(file, rewrite(ts.sys.readFile(file)!), language, true)
        : getSourceFile(file, language, onError, create);
  }
  const program = ts.createProgram({ rootNames: [root], options, host, oldProgram });
  return { program, diagnostics: ts.getPreEmitDiagnostics(program) };
}

function describeDiagnostics(diagnostics: readonly ts.Diagnostic[]): string[] {
  return diagnostics.map((d) => {
    const where = d.file ? `${path.relative(ROOT, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start!).line + 1}` : '';
    return `${where} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

/** Shared by the tests, so that the second compile reuses what the first one parsed. */
let firstProgram: ts.Program | undefined;

test('correct uses compile, and every @ts-expect-error marks a real error', () => {
  const options = compilerOptions();
  const { program, diagnostics } = compile(options);
  firstProgram = program;
  // An unused @ts-expect-error is itself an error (TS2578), so none means every marked line is wrong.
  expect(describeDiagnostics(diagnostics)).toEqual([]);

  // Without the directives, the errors are exactly on the marked lines: one or more each, none elsewhere.
  const lines = ts.sys.readFile(USAGE)!.split('\n');
  const marked = lines.flatMap((line, i) => (DIRECTIVE.test(line) ? [i + 1] : []));
  expect(marked.length).toBeGreaterThanOrEqual(10);
  const unmarked = compile(options, (text) => text.replace(/\/\/ @ts-expect-error/g, '// expected error:'), program);
  const errorLines = new Set(
    unmarked.diagnostics
      .filter((d) => d.file !== undefined && path.resolve(d.file.fileName) === USAGE)
      .map((d) => d.file!.getLineAndCharacterOfPosition(d.start!).line),
  );
  expect([...errorLines].sort((a, b) => a - b)).toEqual(marked);
  // And nothing outside the usage file.
  expect(describeDiagnostics(unmarked.diagnostics.filter((d) => d.file === undefined || path.resolve(d.file.fileName) !== USAGE))).toEqual([]);
}, 60000);

test('a pool without a type argument takes any task name, also when its initializer is named by a string', () => {
  const { diagnostics } = compile(compilerOptions(), undefined, firstProgram, UNTYPED_USAGE);
  expect(describeDiagnostics(diagnostics)).toEqual([]);
}, 60000);
