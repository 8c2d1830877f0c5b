// The forked child script must be JavaScript: build dist/ (the library, and child/ bundled into one child
// script) before any test forks a child. Then pack it and prepare the consumer projects' toolchain.
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { installToolchain, packAndInstall } = require('./consumers/consumer-cache');

module.exports = function globalSetup() {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
  packAndInstall();
  installToolchain();
};
