/**
 * The executor's types, checked by the TypeScript compiler: task names, arguments and results follow from
 * the module type M, and futures of different result types can be used together, as in Python.
 *
 * Each probe is a small program compiled in memory with the project's compiler options; a probe passes
 * when it compiles without errors (`@ts-expect-error` marks the lines that must be refused).
 */
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.join(__dirname, '..');

const HEADER = `
import { ALL_COMPLETED, Future, ProcessPoolExecutor, asCompleted, wait } from '../src';
type Tasks = typeof import('./fixtures/executor-tasks');
declare const ex: ProcessPoolExecutor<Tasks>;
export {};
`;

const PROBES: Record<string, string> = {
  'submit is typed from the module: names, arguments and results': `
    async function probe() {
      const doubled: number = await ex.submit('double', 21);
      const label: string = await ex.submit('mark', '/tmp/log', 'x').result(1000);
      const future: Future<number> = ex.submit('sleep', 10);
      // @ts-expect-error: not an export of the module
      ex.submit('noSuchTask', 1);
      // @ts-expect-error: double takes a number
      ex.submit('double', 'twenty');
      // @ts-expect-error: sleep resolves to a number, not a string
      const wrong: string = await ex.submit('sleep', 10);
      for await (const value of ex.map('double', [1, 2, 3])) {
        const n: number = value;
        void n;
      }
      void doubled; void label; void future; void wrong;
    }
    void probe;
  `,
  'a Future<number> is a Future<unknown>': `
    const future = ex.submit('double', 1);
    const any: Future<unknown> = future;
    const list: Future<unknown>[] = [future, ex.submit('mark', '/tmp/log', 'x')];
    void any; void list;
  `,
  'wait and asCompleted take futures of different result types together': `
    async function probe() {
      const a = ex.submit('double', 1);
      const b = ex.submit('mark', '/tmp/log', 'x');
      const { done, notDone } = await wait([a, b], { returnWhen: ALL_COMPLETED });
      const iterator = asCompleted([a, b]);
      void done; void notDone; void iterator;
    }
    void probe;
  `,
  'a for await loop over asCompleted is typed as the futures it yields, not their results': `
    async function probe() {
      for await (const future of asCompleted([ex.submit('double', 1)])) {
        const f: Future<number> = future;
        const n: number = await future.result();
        const done: boolean = future.done();
        // @ts-expect-error: the loop variable is the future, not its result
        const wrong: number = future;
        void f, n, done, wrong;
      }
    }
    void probe;
  `,
  'asCompleted yields the caller\'s own future type: Map lookups type-check, in every loop over it': `
    async function probe() {
      const labels = new Map<Future<number>, string>([[ex.submit('double', 1), 'one'], [ex.submit('double', 2), 'two']]);
      // TypeScript caches what a for await yields per iterator type: the second loop is the one that tells.
      for (let round = 0; round < 2; round++) {
        for await (const future of asCompleted(labels.keys())) {
          const label: string | undefined = labels.get(future);
          const n: number = await future;
          void label, n;
        }
      }
      for await (const future of asCompleted(labels.keys(), { timeout: 0 })) labels.get(future);
      const list = [...labels.keys()];
      for await (const future of asCompleted(list)) {
        const same: Future<number> = future;
        void same;
      }
    }
    void probe;
  `,
};

/** Compile every probe in one program; errors by probe title. */
function compileProbes(): Map<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  })!;
  const options: ts.CompilerOptions = { ...config.options, noEmit: true, declaration: false, types: ['node'] };
  const files = new Map(
    Object.entries(PROBES).map(([title, body], i) => [path.join(ROOT, 'tests', `executor-types-probe-${i}.ts`), { title, text: HEADER + body }]),
  );
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
  host.readFile = (file) => files.get(file)?.text ?? readFile.call(host, file);
  host.getSourceFile = (file, languageVersion, ...rest) => {
    const probe = files.get(file);
    return probe !== undefined
      ? ts.createSourceFile(file, probe.text, languageVersion, true)
      : getSourceFile.call(host, file, languageVersion, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const errors = new Map<string, string[]>([...files.values()].map(({ title }) => [title, []]));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const probe = diagnostic.file && files.get(diagnostic.file.fileName);
    if (probe === undefined) continue;
    const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start!);
    const source = probe.text.split('\n')[line].trim();
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n').split('\n')[0];
    errors.get(probe.title)!.push(`${source} -> ${message}`);
  }
  return errors;
}

let errors: Map<string, string[]>;
beforeAll(() => {
  errors = compileProbes();
}, 60000);

test.each(Object.keys(PROBES))('%s', (title) => {
  expect(errors.get(title)).toEqual([]);
});
