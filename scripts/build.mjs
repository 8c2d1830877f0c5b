/**
 * Builds dist/, the package as published:
 *
 *   dist/index.cjs, dist/index.mjs   the library, bundled as CommonJS, and an ES module that re-exports it
 *   dist/task.cjs, dist/task.mjs     `forkpool/task`, what a task imports (emit), likewise
 *   dist/cluster.cjs, dist/cluster.mjs   `forkpool/cluster`, the pools across machines on BullMQ and Redis, likewise
 *   dist/forkpool.cjs                the `forkpool` command (`forkpool worker`, a host of a cluster)
 *   dist/child.cjs                   the script every child runs (`forkpool/child`), one self-contained file
 *   dist/thread.cjs                  the script every worker thread runs (ThreadPool), likewise
 *   dist/types/                      the public type declarations, shared by both formats
 *   dist/native/                     SharedMemory's native part, compiled for Linux x64 (scripts/build-native.mjs)
 *   dist/THIRD-PARTY-LICENSES.txt    the licenses of the code bundled in
 *
 * serialize-error and p-defer are bundled in rather than installed: they are ES modules only, which a
 * CommonJS consumer (a jest suite, a Node run with require(esm) off) cannot require(), and a bundled app
 * copies the child script away from any node_modules.
 *
 * forkpool/cluster is built on its own, and leaves two kinds of module out of its bundle: bullmq and ioredis,
 * optional peers that the application installs (and that `forkpool` itself never loads); and forkpool's
 * public classes (the pools' faces, the errors), which it requires from dist/index.cjs at run time, so that
 * a HostLostError is a BrokenPoolError and a ClusterPool a BasePool of the one copy the application has.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildNative } from './build-native.mjs';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
const TYPES = path.join(DIST, 'types');

/** Public entry points, each built to dist/<name>.mjs and dist/<name>.cjs; package.json's exports names them. */
const ENTRY_POINTS = {
  index: 'src/index.ts',
  // `forkpool/task`, imported by task modules inside the children: emit().
  task: 'src/task.ts',
};

/** `forkpool/cluster`, built apart (see above), with the same naming. */
const CLUSTER_ENTRY = { cluster: 'src/cluster.ts' };

/** The optional peers of forkpool/cluster: the application's, never bundled. */
const CLUSTER_PEERS = ['bullmq', 'ioredis'];

/**
 * Modules of src/ that forkpool/cluster takes from another bundle at run time, and what each bundle is called.
 * The cluster's sources import the public classes (the faces, the errors) from src/index.ts for this; what
 * else of src/ they reach is bundled into dist/cluster.cjs (a host's engine, among it), and never reaches
 * the application but through the cluster's own classes.
 */
const SHARED_MODULES = {
  'src/index.ts': 'index',
  // SharedMemory keeps its registry in its module: one copy, which a cluster's pool can tell apart.
  'src/shared/shared-memory.ts': 'index',
  'src/base-pool.ts': 'index',
  'src/base-executor.ts': 'index',
  'src/cluster.ts': 'cluster',
};

/** An esbuild plugin: imports of SHARED_MODULES become requires of their bundle beside this one (`./index.cjs`). */
function shareModules(exceptEntry) {
  return {
    name: 'share-modules',
    setup(build) {
      build.onResolve({ filter: /^\./ }, ({ path: specifier, resolveDir }) => {
        const target = path.relative(ROOT, path.resolve(resolveDir, specifier)).replace(/\.ts$/, '');
        const bundle = SHARED_MODULES[`${target}.ts`];
        if (bundle === undefined || bundle === exceptEntry) return undefined;
        return { path: `./${bundle}.cjs`, external: true };
      });
    },
  };
}

/**
 * The only packages whose code goes into the build. Anything else a bundle reaches (a TypeScript loader the
 * child finds in the user's project, say) must stay a run-time lookup, which this list makes sure of.
 */
const BUNDLED_PACKAGES = ['non-error', 'p-defer', 'serialize-error'];

/** Settings every output shares. Node's own modules stay imports; everything else is bundled. */
const COMMON = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  metafile: true,
  absWorkingDir: ROOT,
};

fs.rmSync(DIST, { recursive: true, force: true });

const results = await Promise.all([
  build({ ...COMMON, entryPoints: ENTRY_POINTS, format: 'cjs', outdir: DIST, outExtension: { '.js': '.cjs' } }),
  build({
    ...COMMON,
    entryPoints: { child: 'workers/process-entry.ts', thread: 'workers/thread-entry.ts' },
    format: 'cjs',
    outdir: DIST,
    outExtension: { '.js': '.cjs' },
  }),
  build({
    ...COMMON,
    entryPoints: CLUSTER_ENTRY,
    format: 'cjs',
    outdir: DIST,
    outExtension: { '.js': '.cjs' },
    external: CLUSTER_PEERS,
    plugins: [shareModules('cluster')],
  }),
  // The bin: `forkpool worker`, over dist/cluster.cjs.
  build({
    ...COMMON,
    entryPoints: { forkpool: 'src/cluster/cli.ts' },
    format: 'cjs',
    outdir: DIST,
    outExtension: { '.js': '.cjs' },
    external: CLUSTER_PEERS,
    plugins: [shareModules()],
    banner: { js: '#!/usr/bin/env node' },
  }),
]);
fs.chmodSync(path.join(DIST, 'forkpool.cjs'), 0o755);
writeEsmEntryPoints();

const packages = bundledPackages(results.map((result) => result.metafile));
const unexpected = [...packages.keys()].filter((name) => !BUNDLED_PACKAGES.includes(name));
if (unexpected.length > 0) throw new Error(`The build bundled ${unexpected.join(', ')}; only ${BUNDLED_PACKAGES.join(', ')} belong in it.`);
writeThirdPartyLicenses(packages);
buildDeclarations();
buildNative(ROOT, DIST);

/**
 * dist/<name>.mjs for each entry point: an ES module whose named exports are those of the CommonJS build.
 * An app that imports forkpool in its own code and requires it through a CommonJS dependency then loads one
 * copy, so that its classes, `instanceof` and the errors it throws agree across the two.
 */
function writeEsmEntryPoints() {
  const require = createRequire(import.meta.url);
  for (const name of [...Object.keys(ENTRY_POINTS), ...Object.keys(CLUSTER_ENTRY)]) {
    const names = Object.keys(require(path.join(DIST, `${name}.cjs`))).filter((key) => key !== 'default');
    fs.writeFileSync(path.join(DIST, `${name}.mjs`), `import cjs from './${name}.cjs';\n\nexport const { ${names.join(', ')} } = cjs;\n`);
  }
}

/** Name → directory of every package with code in a bundle. */
function bundledPackages(metafiles) {
  const packages = new Map();
  for (const metafile of metafiles) {
    for (const input of Object.keys(metafile.inputs)) {
      const match = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(input);
      if (match !== null) packages.set(match[2], match[1]);
    }
  }
  return packages;
}

/** The license of every package whose code went into a bundle, as their MIT terms ask of copies. */
function writeThirdPartyLicenses(packages) {
  const sections = [...packages.values()].sort().map((dir) => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8'));
    const license = fs.readdirSync(path.join(ROOT, dir)).find((name) => /^licen[cs]e/i.test(name));
    if (license === undefined) throw new Error(`${manifest.name} has no license file to ship with its code`);
    const text = fs.readFileSync(path.join(ROOT, dir, license), 'utf8').trim();
    return `${manifest.name}@${manifest.version} (${manifest.license})\n\n${text}\n`;
  });
  fs.writeFileSync(
    path.join(DIST, 'THIRD-PARTY-LICENSES.txt'),
    `forkpool's build includes code from these packages.\n\n${sections.join('\n---\n\n')}`,
  );
}

/**
 * Declarations of the public API only: tsc strips what is marked @internal, and the declaration files no
 * public one imports (the engine, the child's protocol) are removed.
 */
function buildDeclarations() {
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  const reachable = new Set();
  const visit = (file) => {
    if (reachable.has(file)) return;
    reachable.add(file);
    // Without the doc comments: their examples import modules of the reader's project (`import('./tasks.js')`).
    const text = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    for (const [, specifier] of text.matchAll(/(?:from|import\()\s*'(\.[^']*)'/g)) {
      const target = path.resolve(path.dirname(file), specifier);
      visit(fs.existsSync(`${target}.d.ts`) ? `${target}.d.ts` : path.join(target, 'index.d.ts'));
    }
  };
  const entries = [...Object.keys(ENTRY_POINTS), ...Object.keys(CLUSTER_ENTRY)];
  for (const name of entries) visit(path.join(TYPES, `${name}.d.ts`));
  removeUnreachable(TYPES, reachable);
  // TypeScript reads a .d.ts of this package as CommonJS, which has a default export (module.exports) that
  // the ES module build does not: for `import`, the same declarations re-exported from an ES module.
  for (const name of entries) {
    fs.writeFileSync(path.join(TYPES, `${name}.d.mts`), `export * from './${name}.js';\n`);
  }
}

function removeUnreachable(dir, reachable) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      removeUnreachable(file, reachable);
      if (fs.readdirSync(file).length === 0) fs.rmdirSync(file);
    } else if (!reachable.has(file)) {
      fs.rmSync(file);
    }
  }
}
