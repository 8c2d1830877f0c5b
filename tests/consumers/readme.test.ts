/**
 * The README's code, as a user copies it into a project of their own. Every TypeScript and JavaScript block
 * is written as the file its first line names (`// main.ts`) into one consumer project: forkpool installed
 * from its packed tarball, the tools the README's `npm install` lines name, the README's own tsconfig.json.
 * The commands of its console blocks run in order, as a user types them (`npx tsc` among them, which
 * compiles every TypeScript block at once), and must print what the README shows. Then every block runs,
 * and must exit 0. The JavaScript blocks are type-checked too, against the same tsconfig.
 *
 * The `@example`s of the API reference, as the installed declarations carry them, go into the same
 * project beside the README's task module, and are compiled and run with it.
 *
 * A block that is not run is marked just before it, `<!-- snippet: skip — why -->`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { INSTALLED } from './consumer-cache';
import { useConsumerProjects, type ConsumerProject, type RunResult, type Tool } from './consumer-project';

const ROOT = path.join(__dirname, '..', '..');
const README = 'README.md';

/** Each command and each program forks children of its own; tsc and tsx take seconds to start. */
jest.setTimeout(120_000);

/** A fenced block of a markdown file. */
interface Fence {
  lang: string;
  code: string;
  /** Line of the file where the code starts (1-based). */
  line: number;
  /** Why the block is not run, from the marker just before it. */
  skip?: string;
}

const SKIP_MARKER = /^<!-- snippet: skip — (.+) -->$/;

/** The fenced blocks of `markdown`, each with the skip marker that precedes it (blank lines between allowed). */
function fences(markdown: string, file: string): Fence[] {
  const lines = markdown.split('\n');
  const found: Fence[] = [];
  let marker: { reason: string; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i];
    if (text.startsWith('<!-- snippet:')) {
      const match = SKIP_MARKER.exec(text);
      if (match === null) throw new Error(`${file}:${i + 1}: a snippet marker reads \`<!-- snippet: skip — why -->\`, not ${text}`);
      marker = { reason: match[1], line: i + 1 };
      continue;
    }
    const open = /^```(\S*)\s*$/.exec(text);
    if (open !== null) {
      let end = i + 1;
      while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
      if (end === lines.length) throw new Error(`${file}:${i + 1}: a code block that is never closed`);
      found.push({ lang: open[1], code: `${lines.slice(i + 1, end).join('\n')}\n`, line: i + 2, skip: marker?.reason });
      marker = undefined;
      i = end;
      continue;
    }
    if (marker !== undefined && text.trim() !== '') {
      throw new Error(`${file}:${marker.line}: a snippet marker must come right before the code block it is about`);
    }
  }
  if (marker !== undefined) throw new Error(`${file}:${marker.line}: a snippet marker with no code block after it`);
  return found;
}

const TYPESCRIPT = new Set(['ts', 'typescript']);
const JAVASCRIPT = new Set(['js', 'javascript', 'mjs', 'cjs']);

/** A code block as a file of the project. */
interface Snippet {
  /** Where it comes from, `README.md:12`, for test names and failures. */
  where: string;
  /** Its path in the project, from its first line. */
  file: string;
  code: string;
  /** First line of the code in its source, to point tsc's errors there. */
  line: number;
  /** `node` arguments that run it: the compiled file for TypeScript. A jest test has none: `npx jest` runs it. */
  run: string[];
}

/** A test of the user's own jest suite, run by the README's `npx jest`, not by node. */
const JEST_TEST = /\.test\.[cm]?[jt]s$/;

/** The file a TypeScript source compiles to with the README's tsconfig (`outDir: build`). */
function compiled(file: string): string {
  return path.posix.join('build', file.replace(/\.ts$/, '.js').replace(/\.mts$/, '.mjs').replace(/\.cts$/, '.cjs'));
}

/** A code block named by its first line, `// <file>`, whose extension agrees with the block's language. */
function snippet(fence: Fence, source: string): Snippet {
  const where = `${source}:${fence.line}`;
  const typescript = TYPESCRIPT.has(fence.lang);
  const named = /^\/\/ ([\w./-]+\.([cm]?[jt]s))$/.exec(fence.code.split('\n', 1)[0]);
  if (named === null) {
    throw new Error(`${where}: a code block's first line names its file (\`// main.ts\`), or a marker says why it is not run`);
  }
  const [, file, extension] = named;
  if (extension.endsWith('ts') !== typescript) throw new Error(`${where}: a \`${fence.lang}\` block named ${file}`);
  return { where, file, code: fence.code, line: fence.line, run: [typescript ? compiled(file) : file] };
}

/** A console block: `$ command` lines, each followed by the output it prints. */
interface Command {
  where: string;
  command: string;
  output: string;
}

function commands(fence: Fence, source: string): Command[] {
  const found: Command[] = [];
  fence.code
    .trimEnd()
    .split('\n')
    .forEach((text, index) => {
      if (text.startsWith('$ ')) found.push({ where: `${source}:${fence.line + index}`, command: text.slice(2), output: '' });
      else if (found.length === 0) throw new Error(`${source}:${fence.line}: a console block starts with a \`$ command\``);
      else found[found.length - 1].output += `${text}\n`;
    });
  return found;
}

/** The packages an `npm install` command names (without their versions), or undefined for another command. */
function installs(command: string): string[] | undefined {
  const words = command.split(/\s+/);
  if (words[0] !== 'npm' || !['install', 'i'].includes(words[1])) return undefined;
  return words
    .slice(2)
    .filter((word) => !word.startsWith('-'))
    .map((word) => word.replace(/(?<=.)@.*$/, ''));
}

/** What the consumer projects can install besides forkpool: tests/consumers/toolchain. */
const TOOLCHAIN = Object.keys(
  JSON.parse(fs.readFileSync(path.join(__dirname, 'toolchain', 'package.json'), 'utf8')).devDependencies as Record<string, string>,
);

/** The `@example` code of the declarations the package ships, one per class, as `<Class>: code`. */
function apiExamples(): Map<string, string> {
  const examples = new Map<string, string>();
  const types = path.join(INSTALLED, 'forkpool', 'dist', 'types');
  for (const name of fs.readdirSync(types).filter((file) => file.endsWith('.d.ts'))) {
    const text = fs.readFileSync(path.join(types, name), 'utf8');
    for (const [, comment, owner] of text.matchAll(/\/\*\*([\s\S]*?)\*\/\s*export (?:declare )?(?:abstract )?class (\w+)/g)) {
      if (!comment.includes('@example')) continue;
      const body = comment.split('\n').map((line) => line.replace(/^\s*\* ?/, '')).join('\n');
      const code = /@example\s*```ts\n([\s\S]*?)```/.exec(body);
      if (code === null) throw new Error(`${name}: the @example of ${owner} is not a \`\`\`ts block`);
      examples.set(owner, code[1]);
    }
  }
  return examples;
}

/** tsc's `file(line,col): error` lines, each followed by where that line is in its source. */
function pointAtSources(output: string, snippets: Snippet[]): string {
  return output.replace(/^([\w./-]+)\((\d+),(\d+)\)(.*)$/gm, (line, file: string, row: string) => {
    const source = snippets.find((candidate) => candidate.file === file);
    if (source === undefined) return line;
    const [origin] = source.where.split(':');
    return `${line}\n    (${origin}:${source.line + Number(row) - 1})`;
  });
}

function failure(what: string, result: RunResult): Error {
  return new Error(`${what} exited with ${result.code}:\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
}

// --- The README, read ----------------------------------------------------------------------------------

const readmeFences = fences(fs.readFileSync(path.join(ROOT, README), 'utf8'), README);
const codeFences = readmeFences.filter((fence) => TYPESCRIPT.has(fence.lang) || JAVASCRIPT.has(fence.lang));
const skipped = codeFences.filter((fence) => fence.skip !== undefined);
const snippets = codeFences.filter((fence) => fence.skip === undefined).map((fence) => snippet(fence, README));
const shown = readmeFences.filter((fence) => fence.lang === 'console').flatMap((fence) => commands(fence, README));
const tsconfigs = readmeFences.filter((fence) => /^jsonc?$/.test(fence.lang) && fence.code.startsWith('// tsconfig.json\n'));

const project = useConsumerProjects('file');
let consumer: ConsumerProject;
let examples: Snippet[] = [];

beforeAll(() => {
  const files: Record<string, string> = {};
  for (const { file, code, where } of snippets) {
    if (files[file] !== undefined) throw new Error(`${where}: a second block named ${file}`);
    files[file] = code;
  }
  if (tsconfigs.length !== 1) throw new Error(`${README} shows ${tsconfigs.length} tsconfig.json blocks; its code is compiled with the one`);
  files['tsconfig.json'] = tsconfigs[0].code;
  // The API reference's examples are ES modules beside the README's tasks.ts.
  examples = [...apiExamples()].map(([owner, code]) => {
    const file = `api-example-${owner}.mts`;
    files[file] = code;
    return { where: `the @example of ${owner}`, file, code, line: 1, run: [compiled(file)] };
  });
  // What the README has the user install, forkpool aside, from the toolchain's cache.
  const tools = new Set<string>();
  for (const { command, where } of shown) {
    for (const name of installs(command) ?? []) {
      if (name === 'forkpool') continue;
      if (!TOOLCHAIN.includes(name)) throw new Error(`${where}: installs ${name}, which tests/consumers/toolchain does not have`);
      tools.add(name);
    }
  }
  consumer = project({ tools: [...tools] as Tool[], files });
});

test('its commands print what it shows, in order: npm install, npx tsc (which compiles every block), node, tsx', async () => {
  expect(shown.map(({ command }) => command)).toEqual(expect.arrayContaining(['npx tsc']));
  for (const { where, command, output } of shown) {
    // The project has what the command installs already.
    if (installs(command) !== undefined) continue;
    const result = await consumer.sh(command);
    if (result.code !== 0) throw failure(`${where} \`${command}\``, { ...result, stdout: pointAtSources(result.stdout, [...snippets, ...examples]) });
    expect({ where, command, output: result.stdout }).toEqual({ where, command, output });
  }
});

describe('every block runs', () => {
  const programs = snippets.filter(({ file }) => !JEST_TEST.test(file));
  test.each(programs.map((snippet) => [snippet.where, snippet.file, snippet] as const))('%s %s', async (_where, _file, { where, run }) => {
    if (!fs.existsSync(path.join(consumer.dir, run[0]))) {
      throw new Error(`${where}: ${run[0]} is missing: the README's \`npx tsc\` did not compile it (see the test of its commands)`);
    }
    const result = await consumer.node(run);
    if (result.code !== 0) throw failure(`${where}: node ${run.join(' ')}`, result);
  });
});

test('its jest tests are run by an `npx jest` it shows', () => {
  const tests = snippets.filter(({ file }) => JEST_TEST.test(file));
  if (tests.length > 0) expect(shown.map(({ command }) => command)).toContain('npx jest');
});

test('the JavaScript blocks type-check against the README\'s tsconfig', async () => {
  const scripts = snippets.filter(({ file }) => /\.[cm]?js$/.test(file));
  expect(scripts.length).toBeGreaterThan(0);
  const config = { extends: './tsconfig.json', compilerOptions: { allowJs: true, checkJs: true, noEmit: true }, files: scripts.map(({ file }) => file) };
  fs.writeFileSync(path.join(consumer.dir, 'tsconfig.check-js.json'), JSON.stringify(config));
  const result = await consumer.sh('tsc -p tsconfig.check-js.json');
  if (result.code !== 0) throw failure('tsc over the JavaScript blocks', { ...result, stdout: pointAtSources(result.stdout, scripts) });
});

describe('the blocks it does not run say why, and are few', () => {
  test('at most three', () => {
    expect(skipped.length).toBeLessThanOrEqual(3);
  });

  test.each(skipped.map((fence) => [`${README}:${fence.line}`, fence.skip!] as const))('%s: %s', (_where, reason) => {
    // A reason that names another test names one that exists.
    for (const [file] of reason.matchAll(/tests\/[\w/.-]+\.test\.ts/g)) expect(fs.existsSync(path.join(ROOT, file))).toBe(true);
  });
});

describe('the examples of the API reference run', () => {
  test('Pool, ProcessPoolExecutor, Future and AsyncResult each have one', () => {
    expect(examples.map(({ where }) => where.replace('the @example of ', '')).sort()).toEqual(
      ['AsyncResult', 'Future', 'Pool', 'ProcessPoolExecutor'],
    );
  });

  test.each(['AsyncResult', 'Future', 'Pool', 'ProcessPoolExecutor'])('%s', async (owner) => {
    const example = examples.find(({ where }) => where.endsWith(` ${owner}`));
    if (example === undefined) throw new Error(`${owner} has no @example`);
    const result = await consumer.node(example.run);
    if (result.code !== 0) throw failure(`${example.where}: node ${example.run.join(' ')}`, result);
  });
});

describe('reading the blocks', () => {
  test('a marker says why the block right after it is not run', () => {
    const markdown = 'text\n\n<!-- snippet: skip — shows one option -->\n\n```ts\nx;\n```\n```ts\n// a.ts\ny;\n```\n';
    expect(fences(markdown, 'X.md')).toEqual([
      { lang: 'ts', code: 'x;\n', line: 6, skip: 'shows one option' },
      { lang: 'ts', code: '// a.ts\ny;\n', line: 9, skip: undefined },
    ]);
  });

  test('a marker away from its block, or of another form, is an error', () => {
    expect(() => fences('<!-- snippet: skip — why -->\ntext\n```ts\nx;\n```\n', 'X.md')).toThrow(/X\.md:1: .*right before/);
    expect(() => fences('<!-- snippet: partial -->\n```ts\nx;\n```\n', 'X.md')).toThrow(/X\.md:1: a snippet marker reads/);
  });

  test('a block that neither names its file nor is marked is an error', () => {
    expect(() => snippet({ lang: 'ts', code: 'const x = 1;\n', line: 3 }, 'X.md')).toThrow(/X\.md:3: .*names its file/);
    expect(() => snippet({ lang: 'js', code: '// a.ts\n', line: 3 }, 'X.md')).toThrow(/a `js` block named a\.ts/);
  });
});
