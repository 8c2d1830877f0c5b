/**
 * One measurement in a process of its own, started by run.ts from the transpiled copy of bench/:
 *
 *   node measure.js '<MeasureSpec as JSON>'     one workload, once, against a fresh pool of one peer
 *   node measure.js --calibrate <ms>            iterations of the CPU task that take <ms> here
 *
 * The outcome is printed as JSON on a line that starts with RESULT_MARKER. A process per measurement keeps
 * the pools from sharing a heap, a JIT state or leftover children, and gives each its own peak RSS.
 */
import { reapChildren } from './memory';
import { loadNodePeer } from './peers';
import { RESULT_MARKER, type MeasureSpec, type NodePeerId, type Outcome } from './types';
import { calibrateCpu } from './workloads/cpu';
import { WORKLOADS } from './workloads';

async function measure(args: string[]): Promise<Outcome> {
  if (args[0] === '--calibrate') return { ok: true, value: calibrateCpu(Number(args[1])) };
  const spec = JSON.parse(args[0]) as MeasureSpec;
  const workload = WORKLOADS[spec.workload];
  // Loaded before any clock starts: a library's own load time is not the pool's start-up.
  const peer = loadNodePeer(spec.peer as NodePeerId);
  const measurement = await workload.run(peer, spec);
  return { ok: true, ...measurement };
}

/** How long children may take to exit once their pool has closed. */
const EXIT_GRACE_MS = 2000;

async function report(outcome: Outcome): Promise<void> {
  const leftovers = await reapChildren(EXIT_GRACE_MS);
  if (leftovers.length > 0) {
    const note = `children still alive ${EXIT_GRACE_MS} ms after the pool was closed, killed: ${leftovers.join(', ')}`;
    outcome.warning = outcome.warning === undefined ? note : `${outcome.warning}; ${note}`;
  }
  process.stdout.write(`${RESULT_MARKER}${JSON.stringify(outcome)}\n`, () => process.exit(0));
}

void measure(process.argv.slice(2)).then(report, (error: unknown) =>
  report({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
);
