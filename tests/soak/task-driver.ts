/**
 * The loop both soaks run: start tasks one after another, never more than `inFlight` unsettled at once, until
 * every one has settled, or until none has settled for `stallMs`: a hang, which the soak reports rather than
 * waits out.
 */
export interface TaskDriverOptions {
  tasks: number;
  inFlight: number;
  stallMs: number;
  /** Start task `i`. Its settlement must call `settled()`, once. */
  start(i: number): void;
  /** Called each time `every` more tasks have settled, with how many have. */
  progress?: { every: number; log(settled: number): void };
}

export class TaskDriver {
  /** No task settled for `stallMs`: the run gave up, and what settles after that no longer counts. */
  stalled = false;
  #settled = 0;
  #next = 0;
  #pending = 0;
  #lastProgress = Date.now();
  #lastLogged = 0;
  #finish: (() => void) | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  readonly #options: TaskDriverOptions;

  constructor(options: TaskDriverOptions) {
    this.#options = options;
  }

  /** Start the tasks; resolves once all have settled, or the run stalled. */
  run(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#finish = resolve;
      this.#watchdog = setInterval(() => {
        if (Date.now() - this.#lastProgress < this.#options.stallMs) return;
        this.stalled = true;
        this.#done();
      }, 1000);
      this.#startMore();
    });
  }

  /** One task has settled: start the next, or finish. Ignored once the run has stalled. */
  settled(): void {
    if (this.stalled) return;
    const { tasks, progress } = this.#options;
    this.#pending--;
    this.#settled++;
    this.#lastProgress = Date.now();
    if (progress !== undefined && this.#settled - this.#lastLogged >= progress.every) {
      this.#lastLogged = this.#settled;
      progress.log(this.#settled);
    }
    if (this.#settled === tasks) this.#done();
    else this.#startMore();
  }

  #startMore(): void {
    const { tasks, inFlight, start } = this.#options;
    while (this.#pending < inFlight && this.#next < tasks) {
      this.#pending++;
      start(this.#next++);
    }
  }

  #done(): void {
    clearInterval(this.#watchdog);
    this.#finish?.();
  }
}
