/**
 * The cluster benchmark in its quick mode: it starts its Redis and hosts, measures every workload, reports a
 * figure for each, and leaves no process behind. Nothing here is about speed.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { useScratchDir } from '../../helpers';

const ROOT = path.join(__dirname, '..', '..', '..');
const scratch = useScratchDir('forkpool-bench-cluster-');

test('the quick mode writes a report with a figure for every workload and every target', async () => {
  const out = path.join(scratch(), 'cluster.md');
  const tsNode = require.resolve('ts-node/dist/bin.js');
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [tsNode, 'bench/cluster.ts', '--quick', '--no-build', '--out', out], { cwd: ROOT }, (error, output, stderr) =>
      error ? reject(Object.assign(error, { stderr })) : resolve(output),
    );
  });
  const report = fs.readFileSync(out, 'utf8');
  expect(stdout).toContain(report.trim());
  expect(report).not.toContain('Failed measurements');
  expect(report).toMatch(/\| map of 1M items, chunksize 1,000 \| items\/s \| [\d.]+[kM] \| [\d.]+[kM] \|/);
  expect(report).toMatch(/\| one call after another \(median\) \| ms \| [\d.]+ \| [\d.]+ \|/);
  expect(report).toMatch(/\| recovery from a SIGKILLed host \| \d+ ms \|/);
  expect(report).toContain('npm run bench:cluster -- --quick');
}, 300_000);
