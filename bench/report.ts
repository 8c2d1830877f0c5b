/**
 * From the measurements of a run to what it prints and writes: medians per (pool, workload), speedups,
 * forkpool's ratios to the targets, the memory figures, and RESULTS.md.
 */
import { FULL_MAPS_BEFORE_WARM_RUN, PEER_INFO, SERIAL_PEER, TARGETS, WORKLOAD_INFO, type PeerInfo, type RunPlan, type WorkloadInfo } from './config';
import type { MemoryReport, Outcome, PeerId, WorkloadId } from './types';

/** One measuring process's outcome, with what it measured. */
export interface Sample {
  peer: PeerId;
  workload: WorkloadId;
  rep: number;
  outcome: Outcome;
}

/** What the report says about the run itself. */
export interface RunInfo {
  /** The command that reruns it. */
  command: string;
  quick: boolean;
  plan: RunPlan;
  startedAt: Date;
  finishedAt: Date;
  loadBefore: number[];
  loadAfter: number[];
  cpu: string;
  cores: number;
  node: string;
  python: string | null;
  /** Python's multiprocessing start method. */
  pythonStart: string;
  /** B's CPU task: loop iterations per runtime. */
  cpuIterations: { node: number; python: number | null };
  /** gzip: the directory, and how many files of how many bytes; null when the run leaves gzip out. */
  gzip: { dir: string; files: number; bytes: number } | null;
  /** Peers and workloads this run left out (filters, no python3). */
  skipped: string[];
}

interface MemorySummary {
  parentBaseMiB: number | null;
  parentPeakMiB: number | null;
  parentEndMiB: number | null;
  childrenPeakMiB: number | null;
  childrenRssMiB: number | null;
  children: number;
}

/** The measurements of one (pool, workload) pair. */
export interface Cell {
  values: number[];
  median: number;
  min: number;
  max: number;
  phases: Record<string, number>;
  memory: MemorySummary | undefined;
  checks: number[];
  errors: string[];
  warnings: string[];
}

export type Summary = Map<string, Cell>;

const key = (workload: WorkloadId, peer: PeerId) => `${workload}\u0000${peer}`;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  const known = values.filter((value): value is number => value !== null);
  return known.length === 0 ? null : median(known);
}

function summarizeMemory(reports: MemoryReport[]): MemorySummary | undefined {
  if (reports.length === 0) return undefined;
  const sum = (report: MemoryReport, field: 'peakMiB' | 'rssMiB') =>
    report.children.length === 0 ? null : report.children.reduce((total, child) => total + child[field], 0);
  return {
    parentBaseMiB: medianOrNull(reports.map((report) => report.parentBaseMiB)),
    parentPeakMiB: medianOrNull(reports.map((report) => report.parentPeakMiB)),
    parentEndMiB: medianOrNull(reports.map((report) => report.parentEndMiB)),
    childrenPeakMiB: medianOrNull(reports.map((report) => sum(report, 'peakMiB'))),
    childrenRssMiB: medianOrNull(reports.map((report) => sum(report, 'rssMiB'))),
    children: median(reports.map((report) => report.children.length)),
  };
}

export function summarize(samples: readonly Sample[]): Summary {
  const groups = new Map<string, Sample[]>();
  for (const record of samples) {
    const k = key(record.workload, record.peer);
    groups.set(k, [...(groups.get(k) ?? []), record]);
  }
  const summary: Summary = new Map();
  for (const [k, group] of groups) {
    const good = group.filter((record) => record.outcome.ok && typeof record.outcome.value === 'number');
    const values = good.map((record) => record.outcome.value!);
    const phaseNames = new Set(good.flatMap((record) => Object.keys(record.outcome.phases ?? {})));
    summary.set(k, {
      values,
      median: values.length > 0 ? median(values) : NaN,
      min: Math.min(...values),
      max: Math.max(...values),
      phases: Object.fromEntries(
        [...phaseNames].map((name) => [name, median(good.map((record) => record.outcome.phases?.[name] ?? NaN))]),
      ),
      memory: summarizeMemory(good.flatMap((record) => record.outcome.memory ?? [])),
      checks: good.flatMap((record) => (record.outcome.check === undefined ? [] : [record.outcome.check])),
      errors: group.flatMap((record) => (record.outcome.ok ? [] : [record.outcome.error ?? 'failed'])),
      warnings: group.flatMap((record) => (record.outcome.warning === undefined ? [] : [record.outcome.warning])),
    });
  }
  return summary;
}

// --- Figures ----------------------------------------------------------------------------------------------

function peerInfo(peer: PeerId): PeerInfo {
  return PEER_INFO.find((info) => info.id === peer)!;
}

/** The figure the table shows for a pair: the median, or for B and gzip serial time / median. NaN if none. */
export function figure(summary: Summary, workload: WorkloadInfo, peer: PeerId): number {
  const cell = summary.get(key(workload.id, peer));
  if (cell === undefined || cell.values.length === 0) return NaN;
  if (!workload.speedup) return cell.median;
  const serial = summary.get(key(workload.id, SERIAL_PEER[peerInfo(peer).runtime]));
  return serial === undefined || serial.values.length === 0 ? NaN : serial.median / cell.median;
}

function workloadInfo(id: WorkloadId): WorkloadInfo {
  return WORKLOAD_INFO.find((info) => info.id === id)!;
}

function format(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '—';
  if (unit === '× serial') return `${value.toFixed(2)}×`;
  if (unit === 'ms' || unit === 'MiB') return value.toFixed(1);
  if (unit === 'MiB/s') return value.toFixed(0);
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(2)}k`;
  return value.toFixed(0);
}

const mib = (value: number | null | undefined) => (value === null || value === undefined ? '—' : value.toFixed(1));

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The text of one table cell: the figure, n/a, skipped, or err. */
function cellText(summary: Summary, workload: WorkloadInfo, peer: PeerInfo): string {
  if (!peer.workloads.includes(workload.id)) return 'n/a';
  const cell = summary.get(key(workload.id, peer.id));
  if (cell === undefined) return 'skipped';
  if (cell.values.length === 0) return 'err';
  const text = format(figure(summary, workload, peer.id), workload.unit);
  return cell.errors.length > 0 ? `${text} (${cell.errors.length} err)` : text;
}

/** The columns worth showing: peers that ran (or were meant to run) something in this run. */
function columns(summary: Summary): PeerInfo[] {
  return PEER_INFO.filter((peer) => WORKLOAD_INFO.some((workload) => summary.has(key(workload.id, peer.id))));
}

export function mainTable(summary: Summary, workers: number): string {
  const peers = columns(summary);
  const rows = WORKLOAD_INFO.filter((workload) => peers.some((peer) => summary.has(key(workload.id, peer.id)))).map(
    (workload) => [workload.title, workload.unit, ...peers.map((peer) => cellText(summary, workload, peer))],
  );
  return table([`workload (${workers} workers)`, 'unit', ...peers.map((peer) => peer.label)], rows);
}

export interface TargetResult {
  text: string;
  forkpool: string;
  reference: string;
  ratio: number;
  met: boolean | null;
  limit: string | undefined;
}

export function targetResults(summary: Summary, workers: number): TargetResult[] {
  return TARGETS.filter((target) => summary.has(key(target.workload, target.subject ?? 'forkpool'))).map((target) => {
    const subject = target.subject ?? 'forkpool';
    const workload = workloadInfo(target.workload);
    const ours = figure(summary, workload, subject);
    const reference = target.againstWorkload === undefined ? undefined : workloadInfo(target.againstWorkload);
    const theirs =
      reference !== undefined ? figure(summary, reference, subject) : target.against === undefined ? NaN : figure(summary, workload, target.against);
    const ratio = target.against === undefined && reference === undefined ? ours : ours / theirs;
    const atMost = workers > 2 ? (target.atMostAbove2 ?? target.atMost) : target.atMost;
    const met = !Number.isFinite(ratio)
      ? null
      : (target.atLeast === undefined || ratio >= target.atLeast) && (atMost === undefined || ratio <= atMost);
    return {
      text: target.text,
      forkpool: workload.speedup ? format(ours, workload.unit) : `${format(ours, workload.unit)} ${workload.unit}`,
      reference:
        reference !== undefined
          ? `forkpool, ${reference.id}: ${format(theirs, reference.unit)}`
          : target.against === undefined
            ? '—'
            : `${peerInfo(target.against).label}: ${format(theirs, workload.unit)}`,
      ratio,
      met,
      limit: target.limit,
    };
  });
}

export function targetTable(summary: Summary, workers: number): string {
  const rows = targetResults(summary, workers).map((result) => [
    result.text,
    result.forkpool,
    result.reference,
    Number.isFinite(result.ratio) ? `${result.ratio.toFixed(2)}×` : '—',
    result.met === null ? 'not measured' : result.met ? 'met' : '**missed**',
  ]);
  return table(['target', 'forkpool', 'reference', 'ratio', 'verdict'], rows);
}

/** For each missed target, what limits it. */
export function missedTargetNotes(summary: Summary, workers: number): string {
  const missed = targetResults(summary, workers).filter((result) => result.met === false);
  if (missed.length === 0) return '';
  const notes = missed.map((result) => `- **${result.text}**: ${result.limit ?? 'no known limit: a regression to look into.'}`);
  return `### Why a target is missed\n\n${notes.join('\n')}\n`;
}

export function memoryTable(summary: Summary): string {
  const memory = (workload: WorkloadId, peer: PeerId) => summary.get(key(workload, peer))?.memory;
  const peers = columns(summary).filter((peer) => (['A-call', 'C', 'idle'] as const).some((w) => memory(w, peer.id)));
  const rows = peers.map((peer) => {
    const a = memory('A-call', peer.id);
    const c = memory('C', peer.id);
    const idle = memory('idle', peer.id);
    const growth =
      idle?.parentEndMiB !== null && idle?.parentEndMiB !== undefined && idle.parentBaseMiB !== null
        ? idle.parentEndMiB - idle.parentBaseMiB
        : null;
    return [
      peer.label,
      `${mib(a?.parentBaseMiB)} → ${mib(a?.parentPeakMiB)}`,
      mib(a?.childrenPeakMiB),
      `${mib(c?.parentBaseMiB)} → ${mib(c?.parentPeakMiB)}`,
      mib(c?.childrenPeakMiB),
      mib(idle?.childrenRssMiB),
      growth === null ? '—' : `${growth >= 0 ? '+' : ''}${growth.toFixed(1)}`,
    ];
  });
  return table(
    [
      'pool',
      'A parent: base → peak',
      'A children: peak (sum)',
      'C parent: base → peak',
      'C children: peak (sum)',
      'idle children: RSS (sum)',
      'idle parent: growth',
    ],
    rows,
  );
}

/** Every pair: median, spread, repetitions and phases; the raw material behind the tables. */
export function detailTable(summary: Summary): string {
  const rows: string[][] = [];
  for (const workload of WORKLOAD_INFO) {
    for (const peer of PEER_INFO) {
      const cell = summary.get(key(workload.id, peer.id));
      if (cell === undefined) continue;
      const unit = workload.speedup ? 'ms' : workload.unit;
      const phases = Object.entries(cell.phases)
        .filter(([name]) => name !== 'total' || Object.keys(cell.phases).length > 1)
        .map(([name, ms]) => `${name} ${ms.toFixed(1)} ms`)
        .join(', ');
      rows.push([
        workload.id,
        peer.label,
        cell.values.length === 0 ? 'err' : `${format(cell.median, unit)} ${unit}`,
        cell.values.length === 0 ? '—' : `${format(cell.min, unit)} – ${format(cell.max, unit)}`,
        `${cell.values.length}${cell.errors.length > 0 ? ` (+${cell.errors.length} failed)` : ''}`,
        phases || '—',
      ]);
    }
  }
  return table(['workload', 'pool', 'median', 'min – max', 'runs', 'phases (medians)'], rows);
}

/** Failures, warnings and results that disagree with the serial run. */
export function problems(summary: Summary): string[] {
  const notes: string[] = [];
  for (const workload of WORKLOAD_INFO) {
    const serialChecks = summary.get(key(workload.id, 'serial'))?.checks ?? [];
    for (const peer of PEER_INFO) {
      const cell = summary.get(key(workload.id, peer.id));
      if (cell === undefined) continue;
      const where = `${workload.id} / ${peer.label}`;
      for (const error of new Set(cell.errors)) notes.push(`${where} failed: ${firstLines(error)}`);
      for (const warning of new Set(cell.warnings)) notes.push(`${where}: ${warning}`);
      if (serialChecks.length > 0 && cell.checks.some((check) => check !== serialChecks[0])) {
        notes.push(`${where}: results differ from the serial run's (${cell.checks.join(', ')} vs ${serialChecks[0]})`);
      }
    }
  }
  return notes;
}

function firstLines(text: string): string {
  return text.split('\n').slice(0, 3).join(' ⏎ ').slice(0, 400);
}

const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(' ');

/** What the console shows at the end of a run. */
export function consoleReport(summary: Summary, run: RunInfo): string {
  const issues = problems(summary);
  return [
    `forkpool benchmarks${run.quick ? ' (quick)' : ''}: medians of ${run.plan.reps} run(s), D of ${run.plan.startupReps}; ${run.cores} cores, load average ${load(run.loadBefore)} → ${load(run.loadAfter)}`,
    '',
    mainTable(summary, run.plan.sizes.workers),
    '',
    targetTable(summary, run.plan.sizes.workers),
    '',
    'Memory (MiB, RSS):',
    memoryTable(summary),
    ...(issues.length > 0 ? ['', 'Problems:', ...issues.map((issue) => `- ${issue}`)] : []),
  ].join('\n');
}

/** RESULTS.md. */
export function markdownReport(summary: Summary, run: RunInfo): string {
  const { sizes } = run.plan;
  const serialNode = summary.get(key('B', 'serial'));
  const serialPython = summary.get(key('B', 'python-serial'));
  const serialGzip = summary.get(key('gzip', 'serial'));
  const perTask = (cell: Cell | undefined) =>
    cell === undefined || cell.values.length === 0 ? '—' : `${cell.median.toFixed(0)} ms (${(cell.median / sizes.cpuTasks).toFixed(1)} ms a task)`;
  const issues = problems(summary);
  return `# forkpool benchmarks

Rerun with:

\`\`\`sh
${run.command}
\`\`\`

(\`npm run bench\` measures everything; \`npm run bench -- --quick\` is a smoke run of under a minute with
small sizes, whose figures mean little. \`npm run bench -- --help\` lists the filters.)

## This run

- ${run.startedAt.toISOString()} → ${run.finishedAt.toISOString()}${run.quick ? ', **quick mode**' : ''}
- ${run.cpu}, ${run.cores} cores; Node ${run.node}; ${run.python === null ? 'no python3: the Python columns are skipped' : `Python ${run.python}`}
- load average (1, 5, 15 min): ${load(run.loadBefore)} at the start, ${load(run.loadAfter)} at the end
- medians of ${run.plan.reps} repetition(s), D of ${run.plan.startupReps}; every repetition of every pair in a fresh process and a fresh pool, the pairs interleaved
${run.skipped.map((note) => `- skipped: ${note}\n`).join('')}
## Results

${mainTable(summary, sizes.workers)}

- A: ${sizes.tinyCalls.toLocaleString('en')} calls of a task that returns \`x + 1\`, all made at once; map: one call over ${sizes.mapItems.toLocaleString('en')} items, after one over a tenth of them; "4th in a row": the same call after ${FULL_MAPS_BEFORE_WARM_RUN} full-size ones in the same pool, once the processes have compiled its code and grown their heaps.
- B: ${sizes.cpuTasks} tasks of ${sizes.cpuTaskMs} ms of CPU each (calibrated per runtime: ${run.cpuIterations.node.toLocaleString('en')} loop iterations in Node${run.cpuIterations.python === null ? '' : `, ${run.cpuIterations.python.toLocaleString('en')} in Python`}); serial: Node ${perTask(serialNode)}, Python ${perTask(serialPython)}.
- C: ${sizes.echoes} echoes of a ${(sizes.echoBytes / 1048576).toFixed(0)} MiB Buffer (Python: \`bytes\`), all submitted at once; MiB of payload per second.
  Moved: the same number of round trips of ${2 * sizes.workers} buffers of that size, each moved to a thread and back (a transfer
  list: forkpool's \`transfer\`, piscina's and tinypool's \`move\`), then sent again.
- D: from the pool's constructor to the first result of one tiny call, ${sizes.workers} workers; raw fork: ${sizes.workers} forked children, the first answer.
- E: from the pool's constructor to the last result of ${sizes.workers} CPU tasks of ${sizes.coarseTaskMs} ms each (one per worker), in one map where the pool has one (default chunksize), else one call each.
- F: a warm pool, after ${sizes.workers * 1000} tiny calls: one CPU task of ${sizes.headLongMs} ms, then ${sizes.headShortsPerWorker * sizes.workers} of ${sizes.headShortMs} ms, one call each; the time until the last short one has finished.
${run.gzip === null ? '' : `- gzip: every file of \`${run.gzip.dir}\` (${run.gzip.files} files, ${(run.gzip.bytes / 1048576).toFixed(1)} MiB), \`zlib.gzipSync\` level 9 in the worker, one call per file, largest first; serial: ${serialGzip === undefined || serialGzip.values.length === 0 ? '—' : `${serialGzip.median.toFixed(0)} ms`}.\n`}- idle: RSS of the children after a round of tiny calls and ${sizes.idleSettleMs} ms of rest, plus what the parent grew (threads live in the parent); raw fork's two children are the "two bare node processes".

## Targets

${targetTable(summary, sizes.workers)}

${missedTargetNotes(summary, sizes.workers)}
## Memory (MiB, resident set)

${memoryTable(summary)}

Parent: the measuring process, before the pool was created (after a full GC) → its peak (VmHWM) to the end of the
workload. Children: the sum of their peaks (VmHWM). piscina's threads are in the parent's figures.

## Every measurement

${detailTable(summary)}
${issues.length > 0 ? `\n## Problems\n\n${issues.map((issue) => `- ${issue}`).join('\n')}\n` : ''}
## How it is measured

- Pools: forkpool through its built package (\`dist/\`: \`Pool\`, \`ThreadPool\` and their executors), jest-worker
  (child processes), worker-farm, tinypool (\`runtime: 'child_process'\`, and its default, worker threads),
  workerpool (\`workerType: 'process'\`), piscina (worker threads: the in-process reference), a raw \`fork()\` + \`process.send\` baseline (calls pushed round-robin, no queue), and Python's
  \`multiprocessing.Pool\` and \`concurrent.futures.ProcessPoolExecutor\` (start method \`${run.pythonStart}\`).
- Every pool has ${sizes.workers} workers and its own defaults otherwise: JSON over the IPC channel for worker-farm, tinypool,
  workerpool and the raw baseline, Node's \`'advanced'\` serialization for forkpool and jest-worker. In C every
  child-process pool uses the advanced channel, so that a Buffer crosses as bytes.
- Each repetition of each (pool, workload) pair runs in a process of its own (the harness transpiled to plain
  JavaScript, so no compiler is loaded in it) with a fresh pool, warmed up with a few tiny calls before the clock
  starts (except D), and for the maps with one map over a tenth of the items.
- Processes are started without \`NODE_EXTRA_CA_CERTS\`, and Python with \`-S\` (no site-packages: the harness needs
  only the standard library), so that no start-up hook of this machine lands in D.
- Ratios are forkpool's median divided by the other pool's median of the same run.
`;
}
