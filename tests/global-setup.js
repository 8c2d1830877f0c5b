// The forked child script must be JavaScript: compile src/ and workers/ to dist/ before any test forks one.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = function buildChildScript() {
  const root = path.join(__dirname, '..');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
};
