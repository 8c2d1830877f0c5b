/**
 * The three ways to name a task (an export of the pool's module, an export of any module, a self-contained
 * function), and the types of their arguments and results.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = (...args: any[]) => any;

/** An export of any module; `name` defaults to `'default'`. */
export interface ModuleTaskRef {
  /**
   * The module: a path (relative ones resolve against `process.cwd()` when the pool is created), a `file:`
   * URL or its string, or a package name.
   */
  module: string | URL;
  /** The export to run. @default 'default' */
  name?: string;
}

/** Names of the function exports of `M`. */
export type FunctionName<M> = {
  [K in keyof M]: M[K] extends AnyFunction ? K : never;
}[keyof M] &
  string;

/** Anything that names a task for a pool whose default module has the type `M`. */
export type TaskRef<M = any> = FunctionName<M> | ModuleTaskRef | AnyFunction;

/** The function a TaskRef `T` names: an export of `M`, the function itself, or (a `{ module, name }`) any function. */
type FunctionOf<M, T> = T extends string
  ? T extends keyof M
    ? Extract<M[T], AnyFunction>
    : AnyFunction
  : T extends AnyFunction
    ? T
    : AnyFunction;

/** The argument list of the task `T`. */
export type TaskArgs<M, T> = Parameters<FunctionOf<M, T>>;
/** What the task `T` resolves to, async tasks unwrapped. */
export type TaskResult<M, T> = Awaited<ReturnType<FunctionOf<M, T>>>;

/** @internal A value as an error message shows it. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value}' (string)`;
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : `an object`;
  return `${String(value)} (${typeof value})`;
}
