/**
 * The children's stdout (or stderr) as one stream of whole lines, for `stdout: 'pipe'`: each child's output
 * is cut at its newlines, so that two children writing at once never split each other's lines. A line a
 * child leaves unfinished when it exits is ended for it.
 */
import { Readable } from 'node:stream';

/** A child that writes this much without a newline has it passed on in pieces rather than held. */
const MAX_LINE_BYTES = 1024 * 1024;

export class OutputLines {
  /** The pool's `stdout` or `stderr`: strings, one whole line (with its newline) per chunk. */
  readonly stream: Readable;
  readonly #sources = new Set<Readable>();
  /** The reader is behind: the children's pipes are paused until it reads again. */
  #paused = false;
  #ended = false;

  constructor() {
    this.stream = new Readable({ encoding: 'utf8', read: () => this.#resume() });
  }

  /** Read a child's stream, line by line, until it ends. */
  add(source: Readable): void {
    this.#sources.add(source);
    let partial = '';
    source.setEncoding('utf8');
    source.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) this.#push(`${line}\n`);
      if (partial.length > MAX_LINE_BYTES) {
        this.#push(partial);
        partial = '';
      }
    });
    source.once('end', () => {
      if (partial !== '') this.#push(`${partial}\n`);
      this.#sources.delete(source);
    });
    // A pipe that breaks ends the child's output; the child's own exit says what happened to it.
    source.on('error', () => this.#sources.delete(source));
    if (this.#paused) source.pause();
  }

  /** No child will write any more: the stream ends once what was read has been consumed. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.stream.push(null);
  }

  #push(chunk: string): void {
    if (this.#ended || this.stream.push(chunk) || this.#paused) return;
    this.#paused = true;
    for (const source of this.#sources) source.pause();
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    for (const source of this.#sources) source.resume();
  }
}
