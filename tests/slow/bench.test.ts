/**
 * The benchmark harness in its quick mode: it runs from end to end and reports a figure for every workload.
 * Nothing here is about speed.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PEER_INFO, WORKLOAD_INFO } from '../../bench/config';
import { useScratchDir } from '../helpers';

const ROOT = path.join(__dirname, '..', '..');

function runQuickBench(out: string, more: string[] = []): Promise<{ stdout: string; stderr: string }> {
  const tsNode = require.resolve('ts-node/dist/bin.js');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [tsNode, 'bench/run.ts', '--quick', '--no-build', '--out', out, ...more],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(Object.assign(error, { stdout, stderr })) : resolve({ stdout, stderr })),
    );
  });
}

/** The cells of the main table's row for `title`, by column title. */
function row(markdown: string, title: string): Map<string, string> {
  const lines = markdown.split('\n');
  const header = lines.find((line) => line.startsWith('| workload (2 workers) |'));
  const line = lines.find((candidate) => candidate.startsWith(`| ${title} |`));
  if (header === undefined || line === undefined) throw new Error(`No row for '${title}' in:\n${markdown}`);
  const cells = (text: string) => text.split('|').slice(1, -1).map((cell) => cell.trim());
  const names = cells(header);
  return new Map(cells(line).map((cell, i) => [names[i], cell]));
}

const scratch = useScratchDir('forkpool-bench-');

test('the quick mode prints the tables and writes a report with a row for each workload', async () => {
  const out = path.join(scratch(), 'RESULTS.md');
  const { stdout } = await runQuickBench(out);
  const report = fs.readFileSync(out, 'utf8');

  for (const text of [stdout, report]) {
    for (const workload of WORKLOAD_INFO) {
      const cells = row(text, workload.title);
      // Every forkpool pool that runs the workload (the Pool runs all but moved buffers, which only threads
      // move) shows a figure, not "err" or "n/a". A baseline build is measured only when named (below).
      const ours = PEER_INFO.filter((peer) => peer.id.startsWith('forkpool') && peer.id !== 'forkpool-baseline' && peer.workloads.includes(workload.id));
      expect(ours.length).toBeGreaterThan(0);
      for (const peer of ours) {
        expect({ [peer.label]: cells.get(peer.label) }).toEqual({ [peer.label]: expect.stringMatching(/^\d/) });
      }
      for (const [peer, cell] of cells) {
        if (cell.includes('err')) throw new Error(`${workload.id} / ${peer} failed:\n${stdout}`);
      }
    }
  }
  expect(stdout).toContain('| target |');
  expect(report).toContain('npm run bench -- --quick');
  expect(report).toContain('## Memory');
}, 150_000);

test('--baseline measures another build beside this one, in the same run', async () => {
  // This build as its own baseline: the column is filled by a Pool loaded from the directory given.
  const out = path.join(scratch(), 'RESULTS.md');
  const { stdout } = await runQuickBench(out, ['--no-python', '--peers', 'forkpool,forkpool-baseline', '--workloads', 'A-call', '--baseline', ROOT]);
  const cells = row(stdout, 'A: tiny tasks, one call each');
  expect({ forkpool: cells.get('forkpool'), baseline: cells.get('forkpool (baseline)') }).toEqual({
    forkpool: expect.stringMatching(/^\d/),
    baseline: expect.stringMatching(/^\d/),
  });
  expect(fs.readFileSync(out, 'utf8')).toContain(`--baseline ${ROOT}`);
}, 150_000);

test('--baseline refuses a directory without a build, saying what to do', async () => {
  const error = await runQuickBench(path.join(scratch(), 'RESULTS.md'), ['--baseline', scratch()]).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 2, stderr: expect.stringContaining('no dist/index.cjs in') });
  expect((error as { stderr: string }).stderr).toContain('npm run build there');
}, 60_000);
