/**
 * What the demo says when the pool was not faster than the serial run, which has one of two causes: too
 * little work per task (sending the tasks and their results costs more than the counting), or cores that
 * other programs kept busy. Each gets its own advice; neither suggests the limit that was just used.
 */

/** The work per task below which messages cost as much as the work: a few milliseconds of counting. */
const SMALL_TASK_MS = 5;

export interface RunFacts {
  limit: number;
  ranges: number;
  processes: number;
  serialMs: number;
  speedup: number;
  /** The machine's one-minute load average, and its number of cores. */
  load: number;
  cores: number;
}

/** Lines to print under the speedup; none when the pool was faster. */
export function speedupAdvice({ limit, ranges, processes, serialMs, speedup, load, cores }: RunFacts): string[] {
  if (speedup >= 1) return [];
  const perTaskMs = serialMs / ranges;
  if (perTaskMs < SMALL_TASK_MS) {
    // Ten times the limit is enough work per task to pay for its messages, on any machine.
    const larger = Math.max(limit * 10, 1_000_000);
    return [
      `  The work here is too small to gain from ${processes} processes: each of the ${ranges} tasks counts for ` +
        `${perTaskMs.toFixed(1)} ms, less than sending it and its result costs. Try a larger limit, e.g. ` +
        `npm run demo -- ${larger}.`,
    ];
  }
  return [
    `  Each task counted for ${perTaskMs.toFixed(0)} ms, enough to gain from ${processes} processes, so other ` +
      `programs were holding the cores: the load average is ${load.toFixed(2)} on ${cores} cores. Run it again ` +
      'on a quieter machine.',
  ];
}
