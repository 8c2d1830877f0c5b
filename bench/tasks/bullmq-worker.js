'use strict';
/**
 * The cluster benchmark's reference: what the issue measured as "a BullMQ worker handing jobs to a forkpool
 * Pool", without forkpool/cluster. A BullMQ Worker takes one job at a time and maps its items (JSON, as
 * BullMQ stores them) through a local Pool of one child.
 *
 *   node bullmq-worker.js <redis url> <queue>
 */
const path = require('node:path');
const { Worker } = require(require.resolve('bullmq', { paths: [path.join(__dirname, '..', '..')] }));
const { Pool } = require('../../dist/index.cjs');

const [url, queue] = process.argv.slice(2);
const pool = new Pool({ processes: 1, module: path.join(__dirname, 'tasks.js') });
const worker = new Worker(queue, (job) => pool.map('tiny', job.data.items, { chunksize: job.data.items.length }), {
  connection: { url },
  concurrency: 1,
});
worker.on('error', () => undefined);
worker.waitUntilReady().then(() => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
