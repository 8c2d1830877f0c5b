/**
 * Consumer projects: a fresh directory outside this repository with forkpool installed from its packed
 * tarball, the tools a test names installed beside it (linked from the toolchain cache; any tool not named
 * is absent), and the project's own files. Commands run in it with the Node running the tests.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { INSTALLED, TOOLCHAIN } from './consumer-cache';

/** Tools a project can have installed: packages of tests/consumers/toolchain/package.json. */
export type Tool =
  | '@jest/globals'
  | '@types/jest'
  | '@types/node'
  | 'copy-webpack-plugin'
  | 'esbuild'
  | 'jest'
  | 'ts-jest'
  | 'ts-node'
  | 'tsx'
  | 'typescript'
  | 'vitest'
  | 'webpack'
  | 'webpack-cli';

export interface ProjectSpec {
  /** package.json's "type". @default none (CommonJS) */
  type?: 'module' | 'commonjs';
  tools?: Tool[];
  /** Path (relative to the project) → content. */
  files: Record<string, string>;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ConsumerProject {
  readonly dir: string;
  /** `node ...args` in the project. */
  node(args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult>;
  /** A tool's own command (its package's bin), run in the project: `tool('tsx', ['main.ts'])`. */
  tool(tool: Tool, args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult>;
  /** A shell script run in the project, with its node_modules/.bin first on PATH, as `npm run` runs one. */
  sh(script: string): Promise<RunResult>;
  /** `node ...args` in a copy of the project's `folder` alone, with no node_modules around it. */
  nodeAlone(folder: string, args: string[]): Promise<RunResult>;
}

/** Long enough for jest or webpack on a loaded two-core machine; a hung command fails its test. */
const COMMAND_TIMEOUT_MS = 90_000;

/**
 * A factory of consumer projects, each removed after its test, or with `'file'` after the last test of the
 * file (a project that several tests share). A command still running at its timeout is killed; the
 * children of its pools then exit by themselves, as any orphaned pool's children do.
 */
export function useConsumerProjects(lifetime: 'test' | 'file' = 'test'): (spec: ProjectSpec) => ConsumerProject {
  const dirs: string[] = [];
  (lifetime === 'test' ? afterEach : afterAll)(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  return (spec) => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'forkpool-consumer-')));
    dirs.push(dir);
    createProject(dir, spec);
    const project: ConsumerProject = {
      dir,
      node: (args, env) => run(process.execPath, args, dir, env),
      tool: (tool, args, env) => {
        const bin = toolBin(tool);
        return isNodeScript(bin) ? run(process.execPath, [bin, ...args], dir, env) : run(bin, args, dir, env);
      },
      sh: (script) => {
        const bin = path.join(dir, 'node_modules', '.bin');
        return run('bash', ['-c', script], dir, { PATH: `${bin}${path.delimiter}${cleanEnv().PATH}` });
      },
      nodeAlone: (folder, args) => {
        const alone = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'forkpool-alone-')));
        dirs.push(alone);
        fs.cpSync(path.join(dir, folder), alone, { recursive: true });
        return run(process.execPath, args, alone);
      },
    };
    return project;
  };
}

function createProject(dir: string, { type, tools = [], files }: ProjectSpec): void {
  const manifest = { name: 'consumer', version: '1.0.0', private: true, ...(type === undefined ? {} : { type }) };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const modules = path.join(dir, 'node_modules');
  // What `npm install forkpool` put in node_modules: forkpool, and whatever it depends on.
  fs.cpSync(INSTALLED, modules, { recursive: true });
  for (const tool of tools) {
    fs.mkdirSync(path.dirname(path.join(modules, tool)), { recursive: true });
    fs.symlinkSync(path.join(TOOLCHAIN, 'node_modules', tool), path.join(modules, tool), 'dir');
    // Its commands in node_modules/.bin, as npm would put them there for `npm run` and npx.
    for (const [name, file] of Object.entries(toolBins(tool))) {
      fs.mkdirSync(path.join(modules, '.bin'), { recursive: true });
      fs.symlinkSync(file, path.join(modules, '.bin', name));
    }
  }
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
}

/** The commands a tool's package names, and their files. */
function toolBins(tool: Tool): Record<string, string> {
  const dir = path.join(TOOLCHAIN, 'node_modules', tool);
  const { name, bin } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    name: string;
    bin?: string | Record<string, string>;
  };
  const bins = typeof bin === 'string' ? { [name.replace(/^@[^/]+\//, '')]: bin } : (bin ?? {});
  return Object.fromEntries(Object.entries(bins).map(([command, file]) => [command, path.join(dir, file)]));
}

/** The file of a tool's own command. */
function toolBin(tool: Tool): string {
  const file = toolBins(tool)[tool];
  if (file === undefined) throw new Error(`${tool} has no command of its name`);
  return file;
}

/** esbuild's command is its native binary; the others are scripts for node. */
function isNodeScript(file: string): boolean {
  const head = Buffer.alloc(2);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 2, 0);
  } finally {
    fs.closeSync(fd);
  }
  return head.toString() === '#!' || /\.[cm]?js$/.test(file);
}

function run(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: { ...cleanEnv(), ...env }, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * This process's environment, less what would make a consumer's run differ from a user's: hooks that
 * NODE_OPTIONS could carry, jest's own variables (a consumer's jest takes JEST_WORKER_ID to mean it is a
 * worker), and the npm_ variables of the `npm test` that started the suite (npm reads npm_config_ ones as
 * its own configuration, and an `npx` run in the project is an npm). Tools print without colours, for the
 * output to be read.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { NO_COLOR: '1' };
  for (const [name, value] of Object.entries(process.env)) {
    if (name === 'NODE_OPTIONS' || name.startsWith('JEST_') || name === 'FORCE_COLOR') continue;
    if (name.startsWith('npm_')) continue;
    // The test run's own settings (FORKPOOL_TEST_NODE_LINES, FORKPOOL_REQUIRE_REDIS, set by CI) and the
    // variables forkpool passes to its children are not the consumer's.
    if (name.startsWith('FORKPOOL_')) continue;
    env[name] = value;
  }
  // The Node running the tests comes first, for the tools' own `#!/usr/bin/env node` children.
  env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${env.PATH ?? ''}`;
  return env;
}

/** The last line of `stdout` that parses as JSON, or a failure that shows what the command printed. */
export function lastJson<T = Record<string, unknown>>(result: RunResult): T {
  const lines = result.stdout.trim().split('\n').reverse();
  for (const line of lines) {
    try {
      return JSON.parse(line) as T;
    } catch {
      // not this line
    }
  }
  throw new Error(`No JSON line in the output (exit code ${result.code}):\n${result.stdout}\n${result.stderr}`);
}
