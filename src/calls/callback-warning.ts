/**
 * A user callback that throws must neither stop the pool nor vanish: it becomes a process warning, which
 * Node prints and `process.on('warning')` can collect.
 */
export const CALLBACK_WARNING = 'ForkpoolCallbackWarning';

export function reportCallbackError(error: unknown, where: string): void {
  const message = `A ${where} threw: ${error instanceof Error ? error.message : String(error)}`;
  const detail = error instanceof Error ? error.stack : undefined;
  try {
    // The string form: an Error made in another realm (a vm context, a test sandbox) is refused as a warning.
    process.emitWarning(message, { type: CALLBACK_WARNING, detail });
  } catch {
    // Reporting must never throw into the engine that called the callback.
  }
}
