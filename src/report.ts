/**
 * A user callback that throws must neither stop the pool nor vanish: it becomes a process warning,
 * which Node prints and `process.on('warning')` can collect.
 */
export function reportCallbackError(error: unknown, where: string): void {
  const warning = new Error(`A ${where} threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  warning.name = 'ForkpoolCallbackWarning';
  process.emitWarning(warning);
}
