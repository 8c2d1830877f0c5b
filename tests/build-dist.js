// The forked child script must be JavaScript: build dist/ (the library, and child/ bundled into one child
// script) before any test forks a child.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = function buildDist() {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
};
