/**
 * The Node pools under test, each loaded only by the measuring process that drives it (loading the others
 * would weigh on its memory and start-up).
 */
import type { NodePeerId } from '../types';
import type { NodePeer } from './types';

const LOADERS: Record<NodePeerId, () => NodePeer> = {
  forkpool: () => (require('./forkpool') as typeof import('./forkpool')).peer,
  'forkpool-baseline': () => (require('./forkpool-baseline') as typeof import('./forkpool-baseline')).peer,
  'forkpool-executor': () => (require('./forkpool-executor') as typeof import('./forkpool-executor')).peer,
  'forkpool-threads': () => (require('./forkpool-threads') as typeof import('./forkpool-threads')).peer,
  'forkpool-thread-executor': () => (require('./forkpool-thread-executor') as typeof import('./forkpool-thread-executor')).peer,
  'jest-worker': () => (require('./jest-worker') as typeof import('./jest-worker')).peer,
  'worker-farm': () => (require('./worker-farm') as typeof import('./worker-farm')).peer,
  tinypool: () => (require('./tinypool') as typeof import('./tinypool')).peer,
  'tinypool-threads': () => (require('./tinypool-threads') as typeof import('./tinypool-threads')).peer,
  workerpool: () => (require('./workerpool') as typeof import('./workerpool')).peer,
  piscina: () => (require('./piscina') as typeof import('./piscina')).peer,
  'raw-fork': () => (require('./raw-fork') as typeof import('./raw-fork')).peer,
  serial: () => (require('./serial') as typeof import('./serial')).peer,
};

export function loadNodePeer(id: NodePeerId): NodePeer {
  const load = LOADERS[id];
  if (load === undefined) throw new Error(`Unknown Node peer '${id}'.`);
  return load();
}
