/**
 * Task module for examples/typed-tasks.ts: text utilities with precise types. A pool declared as
 * `Pool<typeof import('./tasks/text')>` checks task names, arguments and results against these signatures.
 */

export interface Document {
  title: string;
  body: string;
}

export interface Summary {
  title: string;
  words: number;
  top: Array<[word: string, count: number]>;
}

/** Not a function: not a task name either. */
export const STOP_WORDS: ReadonlySet<string> = new Set(['a', 'an', 'and', 'in', 'is', 'of', 'the', 'to']);

export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z']+/g) ?? [];
}

export function wordCount(text: string): number {
  return words(text).length;
}

/** The `n` most frequent words that are not stop words, most frequent first. */
export function topWords(text: string, n: number): Array<[word: string, count: number]> {
  const counts = new Map<string, number>();
  for (const word of words(text)) {
    if (!STOP_WORDS.has(word)) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n);
}

/** Async on purpose: the pool awaits it in the child, and its result type is `Summary`, not a Promise. */
export async function summarize(doc: Document): Promise<Summary> {
  return { title: doc.title, words: wordCount(doc.body), top: topWords(doc.body, 3) };
}
