/**
 * A typed task module: `Pool<typeof import('./tasks/text')>` makes TypeScript check task names,
 * arguments and results against the module's exports.
 *
 *   npx ts-node examples/typed-tasks.ts     # runs it (ts-node here is transpile-only: no type check)
 *   npm run typecheck                       # type-checks it, including the mistakes below
 */
import path from 'node:path';
import { Pool } from '../src';
import type { Document, Summary } from './tasks/text';

// `typeof import(...)` is a type-only use: this process does not load the module, only the children do.
type TextTasks = typeof import('./tasks/text');

const documents: Document[] = [
  { title: 'Pools', body: 'A pool of processes runs tasks in parallel; the pool hands each task to a free process.' },
  { title: 'Pipes', body: 'The parent and the child talk over a pipe, and the child asks the parent for the next task.' },
  { title: 'Chunks', body: 'A chunk of items is one task: fewer round trips over the pipe, and the same results.' },
];

async function main(): Promise<void> {
  const pool = new Pool<TextTasks>({ processes: 2, module: path.join(__dirname, 'tasks/text.ts') });

  // The result types are inferred from the module: number, [string, number][], Summary[].
  const count: number = await pool.apply('wordCount', ['one two three']);
  const top: Array<[string, number]> = await pool.apply('topWords', [documents[0].body, 2]);
  // `summarize` is async in the module; the pool awaits it in the child, so the results are Summary, not Promise.
  const summaries: Summary[] = await pool.map('summarize', documents);

  console.log(`wordCount('one two three') = ${count}`);
  console.log(`topWords(document 0, 2) = ${JSON.stringify(top)}`);
  for (const { title, words, top: frequent } of summaries) {
    console.log(`${title}: ${words} words, most frequent: ${frequent.map(([word, n]) => `${word} (${n})`).join(', ')}`);
  }

  pool.close();
  await pool.join();
}

/**
 * Never called: these lines are here for the type checker. Each is a mistake that `npm run typecheck`
 * reports (the `@ts-expect-error` comments assert that it does); at run time each would fail in the child.
 */
async function mistakes(pool: Pool<TextTasks>): Promise<void> {
  // @ts-expect-error TS2345 (Argument of type '"wordcount"' is not assignable to ... TaskRef): names are checked, case included
  await pool.apply('wordcount', ['text']);
  // @ts-expect-error TS2345: 'STOP_WORDS' is an export, but not a function, so not a task name
  await pool.apply('STOP_WORDS', []);
  // @ts-expect-error TS2322 (Type 'number' is not assignable to type 'string'): wordCount takes a string
  await pool.apply('wordCount', [42]);
  // @ts-expect-error TS2345 (Source has 1 element(s) but target requires 2): topWords needs its `n`
  await pool.apply('topWords', ['text']);
  // @ts-expect-error TS2345: map passes each item as the argument, and summarize wants a Document, not a string
  await pool.map('summarize', ['just a string']);
  // @ts-expect-error TS2322 (Type 'number' is not assignable to type 'string'): wordCount resolves to a number
  const notAString: string = await pool.apply('wordCount', ['text']);
  void notAString;
}
void mistakes;

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
