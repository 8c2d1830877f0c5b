/**
 * Orphans: when the parent process dies, its pool's children exit on their own within about a second,
 * idle ones and ones busy in a synchronous loop alike. The parent is a separate script killed with SIGKILL,
 * so that nothing of it runs after the signal.
 */
import { isAlive, waitFor } from './helpers';
import { expectNoChildrenLeft, killQuietly, parentOf, Script } from './faults-helpers';

let script: Script | undefined;
let children: number[] = [];

afterEach(() => {
  // Whatever the outcome, leave nothing running.
  script?.kill();
  for (const pid of children) killQuietly(pid);
  script = undefined;
  children = [];
});

afterAll(expectNoChildrenLeft);

async function startParent(mode: 'idle' | 'busy' | 'initializing'): Promise<number[]> {
  script = new Script('orphan-parent.js', [mode]);
  const [line] = await script.waitForLines('pids');
  children = line.split(' ').map(Number);
  expect(children).toHaveLength(2);
  return children;
}

test('idle children exit when their parent is killed', async () => {
  const pids = await startParent('idle');
  await script!.waitForLines('idle');
  expect(pids.every(isAlive)).toBe(true);
  expect(pids.map(parentOf)).toEqual([script!.pid, script!.pid]);

  process.kill(script!.pid, 'SIGKILL');
  await script!.exited;
  await waitFor(() => pids.every((pid) => !isAlive(pid)), 3000, 'the orphaned idle children to exit');
});

test('children busy in a synchronous loop exit when their parent is killed', async () => {
  const pids = await startParent('busy');
  const busy = await script!.waitForLines('busy', 2);
  expect(new Set(busy.map(Number))).toEqual(new Set(pids));
  expect(pids.every(isAlive)).toBe(true);

  process.kill(script!.pid, 'SIGKILL');
  await script!.exited;
  await waitFor(() => pids.every((pid) => !isAlive(pid)), 3000, 'the orphaned busy children to exit');
});

test('children stuck in their initializer exit when their parent is killed', async () => {
  const pids = await startParent('initializing');
  const initializing = await script!.waitForLines('initializing', 2);
  expect(new Set(initializing.map(Number))).toEqual(new Set(pids));

  process.kill(script!.pid, 'SIGKILL');
  await script!.exited;
  await waitFor(() => pids.every((pid) => !isAlive(pid)), 3000, 'the orphaned initializing children to exit');
});
