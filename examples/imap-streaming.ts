/**
 * imap over an endless generator: the pool reads its input lazily, a chunk at a time, and stops
 * reading when the loop stops.
 *
 * The search: the first number whose Collatz sequence (n -> n/2 or 3n+1, until 1) takes at least
 * TARGET steps. Nobody knows in advance how far to look, so the input is an endless generator.
 *
 *   npx ts-node examples/imap-streaming.ts
 */
import { Pool } from '../src';

const TARGET = 350;

let produced = 0;
let generatorClosed = false;

/** 1, 2, 3, ... forever. Counting what it hands out shows how far ahead the pool reads. */
function* naturals(): Generator<number> {
  try {
    for (let n = 1; ; n++) {
      produced++;
      yield n;
    }
  } finally {
    // Runs when the pool stops reading: breaking out of the for-await loop closes the generator.
    generatorClosed = true;
  }
}

/** A progress line redrawn in place on a terminal; an occasional line when the output is piped. */
function report(checked: number, best: { n: number; steps: number }, final = false): void {
  const line = `checked ${checked.toLocaleString('en-US')} numbers; longest so far: ${best.n} (${best.steps} steps)`;
  if (process.stdout.isTTY) {
    if (final || checked % 1000 === 0) process.stdout.write(`\r${line}${final ? '\n' : ''}`);
  } else if (final || checked % 25_000 === 0) {
    console.log(line);
  }
}

async function main(): Promise<void> {
  const pool = new Pool({ processes: 2 });

  // Self-contained inline task: everything it uses is a parameter or a local.
  const collatzSteps = (n: number): number => {
    let steps = 0;
    for (let x = n; x !== 1; steps++) x = x % 2 === 0 ? x / 2 : 3 * x + 1;
    return steps;
  };

  // imap yields results in input order, so the position in the loop is the input number.
  // Tiny tasks are cheap to run but each costs an IPC round trip: chunksize batches 500 numbers per task.
  let checked = 0;
  let best = { n: 1, steps: 0 };
  for await (const steps of pool.imap(collatzSteps, naturals(), { chunksize: 500 })) {
    checked++;
    if (steps > best.steps) best = { n: checked, steps };
    report(checked, best);
    if (steps >= TARGET) break; // found it: leaving the loop stops the input and drops unstarted chunks
  }
  report(checked, best, true);

  pool.close();
  await pool.join();

  console.log(`first number with at least ${TARGET} steps: ${best.n} (${best.steps} steps)`);
  // The pool keeps only a bounded number of chunks in flight (a few per child), so the generator
  // ran only a little ahead of the loop, and it was closed when the loop stopped.
  console.log(`the generator produced ${produced.toLocaleString('en-US')} numbers (${(produced - checked).toLocaleString('en-US')} read ahead, never used)`);
  console.log(`generator closed: ${generatorClosed}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
