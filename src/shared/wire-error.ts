/**
 * A task's error as it crosses the IPC channel: the child turns whatever was thrown into plain data, the
 * parent rebuilds an Error from it.
 */

/** Plain data, whatever was thrown. */
export type WireError = unknown;

// Loaded on the first error rather than at start-up: it costs a child several milliseconds to load.
let serializer: typeof import('serialize-error') | undefined;
function errorSerializer(): typeof import('serialize-error') {
  return (serializer ??= require('serialize-error') as typeof import('serialize-error'));
}

/** Child side: turn anything thrown into plain data that survives either serialization. */
export function toWireError(thrown: unknown): WireError {
  return errorSerializer().serializeError(thrown);
}

/**
 * Parent side: rebuild the error. Built-in classes come back as themselves (`instanceof TypeError`), with
 * name, message, code, own properties, `cause` and the child's stack; a thrown non-Error value comes back
 * as serialize-error's `NonError` describing it.
 */
export function fromWireError(wire: WireError): Error {
  return errorSerializer().deserializeError(wire);
}
