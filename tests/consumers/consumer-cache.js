// What the consumer projects of tests/consumers/ are made from, prepared once per test run by jest's
// globalSetup: forkpool packed with `npm pack` and installed from the tarball as a user would install it,
// and the tools the projects run it with (jest, vitest, tsx, ts-node, esbuild, webpack), installed into a
// cache that every run and every Node version reuses until the toolchain's lockfile changes.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const CACHE = path.join(ROOT, '.cache');
/** The toolchain's manifest and lockfile, and where they are installed. */
const TOOLCHAIN_SOURCE = path.join(__dirname, 'toolchain');
const TOOLCHAIN = path.join(CACHE, 'toolchain');
/** The packed tarball, and an empty project that installed it. */
const PACKAGE = path.join(CACHE, 'package');
const INSTALLED = path.join(PACKAGE, 'consumer', 'node_modules');

function npm(args, cwd) {
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Install the toolchain unless the cache holds this very lockfile's install. */
function installToolchain() {
  const lock = fs.readFileSync(path.join(TOOLCHAIN_SOURCE, 'package-lock.json'), 'utf8');
  const stamp = path.join(TOOLCHAIN, 'node_modules', '.installed-from-lock.json');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === lock) return;
  fs.rmSync(TOOLCHAIN, { recursive: true, force: true });
  fs.mkdirSync(TOOLCHAIN, { recursive: true });
  for (const file of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(TOOLCHAIN_SOURCE, file), path.join(TOOLCHAIN, file));
  npm(['ci'], TOOLCHAIN);
  fs.writeFileSync(stamp, lock);
}

/** `npm pack` the built package (dist/ must be built) and install the tarball into an empty project. */
function packAndInstall() {
  fs.rmSync(PACKAGE, { recursive: true, force: true });
  const consumer = path.dirname(INSTALLED);
  fs.mkdirSync(consumer, { recursive: true });
  // --ignore-scripts: prepack would build dist/ a second time.
  const [{ filename }] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', PACKAGE], { cwd: ROOT, encoding: 'utf8' }),
  );
  fs.writeFileSync(path.join(consumer, 'package.json'), '{ "name": "empty-consumer", "private": true }\n');
  npm(['install', path.join(PACKAGE, filename)], consumer);
  return path.join(PACKAGE, filename);
}

module.exports = { CACHE, TOOLCHAIN, INSTALLED, installToolchain, packAndInstall };
