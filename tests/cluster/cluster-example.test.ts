/**
 * examples/cluster.ts, as the README says to run it (`npx ts-node examples/cluster.ts`), on a machine with
 * redis-server: its own Redis and two hosts count the primes, one host is killed halfway through a second
 * count, and the answer is the same. It stops everything it started.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');

test('the cluster example counts the primes, loses a host, counts them again, and stops its processes', async () => {
  const env = { ...process.env };
  delete env.REDIS_URL;
  delete env.NODE_EXTRA_CA_CERTS;
  const { stdout } = await run(process.execPath, [require.resolve('ts-node/dist/bin.js'), 'examples/cluster.ts'], { cwd: ROOT, env });
  expect(stdout).toMatch(/^redis-server on port \d+, keeping nothing on disk$/m);
  expect(stdout).toMatch(/^2 hosts: \S+ \(1 process\), \S+ \(1 process\)$/m);
  expect(stdout).toMatch(/^primes below 2,000,000: 148933$/m);
  expect(stdout).toMatch(/^killing host (\S+) \(SIGKILL\)$/m);
  expect(stdout).toMatch(/^requeued a chunk of \S+$/m);
  expect(stdout).toMatch(/^after losing a host: 148933 \(every range, once\)$/m);
  expect(stdout).toMatch(/^stats: 20 chunks completed, 1 requeued, 1 host lost$/m);
  expect(stdout).toMatch(/cluster stopped\n$/);
}, 120_000);
