/**
 * `npm test`, failing a run that passes but is not quiet: a green run prints jest's summary and nothing else,
 * so that what a child or a pool writes about a real problem is seen. Noise is a stack frame, a Node
 * warning or deprecation, or an uncaught error printed outside a failing test's report.
 *
 *   node scripts/quiet-test.cjs [jest arguments]
 */
const { spawn } = require('node:child_process');
const path = require('node:path');

/** Lines that a passing run should not print, with the line before each for context. */
function noise(output) {
  const lines = output.split('\n');
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/.test(line) || /^\(node:\d+\) .*(Warning|Deprecation)/.test(line)) {
      found.push(`${i > 0 ? `${lines[i - 1]}\n` : ''}${line}`);
    }
  }
  return found;
}

module.exports = { noise };

if (require.main === module) {
  const root = path.join(__dirname, '..');
  const jest = spawn(process.execPath, [path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'), ...process.argv.slice(2)], {
    cwd: root,
    stdio: ['inherit', 'pipe', 'pipe'],
  });
  let output = '';
  for (const [stream, into] of [
    [jest.stdout, process.stdout],
    [jest.stderr, process.stderr],
  ]) {
    stream.on('data', (chunk) => {
      output += chunk;
      into.write(chunk);
    });
  }
  jest.on('close', (code) => {
    if (code !== 0) process.exit(code ?? 1);
    const found = noise(output);
    if (found.length > 0) {
      console.error(`\nThe tests passed, but the run was not quiet: ${found.length} line(s) of noise, the first:\n${found.slice(0, 5).join('\n---\n')}`);
      process.exit(1);
    }
  });
}
