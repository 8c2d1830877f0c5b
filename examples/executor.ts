/**
 * ProcessPoolExecutor: Python's concurrent.futures over child processes. submit() returns a Future;
 * asCompleted() hands the futures out as they finish; cancel() withdraws a call no child has taken yet.
 *
 *   npx ts-node examples/executor.ts
 */
import path from 'node:path';
import { CancelledError, ProcessPoolExecutor, asCompleted } from '../src'; // in your own project: from 'forkpool'

const DOWNLOADS: Array<[name: string, ms: number]> = [
  ['index.html', 120],
  ['logo.png', 40],
  ['data.csv', 250],
  ['app.js', 80],
  ['styles.css', 10],
  ['video.mp4', 180],
];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  {
    // `await using` shuts the executor down at the end of the block: shutdown({ wait: true }).
    await using executor = new ProcessPoolExecutor<typeof import('./tasks/executor-tasks')>({
      maxWorkers: 2,
      module: path.join(__dirname, 'tasks/executor-tasks.ts'),
    });

    // submit: schedule one call and get a Future. A Future is awaitable, and result() takes a timeout.
    const steps = executor.submit('collatzSteps', 27);
    console.log(`collatzSteps(27) = ${await steps}`);
    console.log(`collatzSteps(97) = ${await executor.submit('collatzSteps', 97).result(10_000)}`);

    // A task's error comes back as itself; exception() gives it without throwing.
    const bad = executor.submit('parseRecord', '{not json');
    const error = (await bad.exception()) as Error;
    console.log(`parseRecord failed: ${error.name}`);

    // asCompleted: the futures themselves, in the order they finish, for a progress display. It is read
    // with next() here: in a `for await` loop it works the same, but TypeScript types the loop variable as
    // the awaited value, which for a Future is its result.
    const downloads = DOWNLOADS.map(([name, ms]) => executor.submit('fakeDownload', name, ms));
    const progress = asCompleted(downloads);
    let finished = 0;
    for (let next = await progress.next(); !next.done; next = await progress.next()) {
      const { name, bytes, pid } = await next.value.result();
      finished++;
      console.log(`[${finished}/${downloads.length}] ${name}: ${bytes} bytes (child ${pid})`);
    }

    // cancel(): only a call that no child has taken yet can be withdrawn; a running one goes on.
    const first = executor.submit('slowJob', 0, 300);
    while (!first.running()) await sleep(10);
    console.log(`job 0 is running; cancel() returns ${first.cancel()}`);
    const queued = [1, 2, 3, 4, 5, 6].map((id) => executor.submit('slowJob', id, 300));
    // Each child holds the call it runs and may already hold the next one; the rest wait in the parent.
    const withdrawn = queued.filter((future) => future.cancel());
    console.log(`cancelled ${withdrawn.length} of ${queued.length} queued jobs`);
    const outcomes = await Promise.allSettled(queued);
    const ran = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
    const rejected = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof CancelledError).length;
    console.log(`${ran} queued jobs ran, ${rejected} rejected with CancelledError`);
    console.log(`job 0 finished anyway: ${await first}`);
  }
  console.log('executor shut down');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
