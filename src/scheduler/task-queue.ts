/**
 * First-in first-out queue of tasks with O(1) push and shift, and a way to put tasks back at the front.
 */
import type { Task } from './task';

const COMPACT_AT = 1024;

export class TaskQueue {
  #items: Task[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(task: Task): void {
    this.#items.push(task);
  }

  peek(): Task | undefined {
    return this.#items[this.#head];
  }

  shift(): Task | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const task = this.#items[this.#head];
    this.#items[this.#head++] = undefined!;
    // Drop the consumed prefix now and then rather than on every shift.
    if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return task;
  }

  /** Put tasks back at the front, in the given order, ahead of everything queued. */
  unshift(tasks: readonly Task[]): void {
    this.#items.splice(this.#head, 0, ...tasks);
  }

  /** Remove and return every task. */
  drain(): Task[] {
    const tasks = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return tasks;
  }
}
