/**
 * The `forkpool` command: `forkpool worker` runs a host of a cluster (see runHost) until SIGTERM or SIGINT.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { describeConnection } from './backend';
import { DEFAULT_PREFIX, DEFAULT_QUEUE } from './cluster-options';

/** How long a host may wait for Redis at its start before it says so. */
const WAITING_NOTICE_MS = 3000;
/** On SIGTERM, how long the chunks a host holds may take to finish before they are handed back. */
const DEFAULT_GRACE_MS = 30_000;

const HELP = `Usage: forkpool worker --redis <url> [options]

Runs a host of a forkpool cluster: it takes the chunks that ClusterPool and ClusterExecutor put on a
BullMQ queue in Redis, no more at once than it has processes, and runs them in a local pool of child
processes. SIGTERM or SIGINT closes it: it takes no more chunks, lets those it holds finish (or hands them
back after --grace), and leaves; a second signal hands them back at once.

Options:
  --redis <url>       Redis, as redis://[user:password@]host:port[/db] (rediss:// for TLS). Required.
  --queue <name>      the queue, as the pools name it (default: ${DEFAULT_QUEUE})
  --module <path>     the module whose exports the pools' task names refer to (relative to this directory)
  --processes <n>     child processes, and chunks run at once (default: the cores, ${os.availableParallelism()} here)
  --prefix <prefix>   the prefix of the queue's Redis keys, BullMQ's prefix (default: ${DEFAULT_PREFIX})
  --grace <ms>        how long a SIGTERM lets running chunks finish before handing them back (default: ${DEFAULT_GRACE_MS})
  --verbose           print each child's start and exit
  -h, --help          print this help
`;

function fail(message: string): never {
  process.stderr.write(`forkpool: ${message}\n\n${HELP}`);
  process.exit(2);
}

function positiveInteger(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) fail(`--${name} needs a positive integer, got '${text}'.`);
  return value;
}

async function worker(args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        redis: { type: 'string' },
        queue: { type: 'string' },
        module: { type: 'string' },
        processes: { type: 'string' },
        prefix: { type: 'string' },
        grace: { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.redis === undefined) fail('--redis <url> is required.');
  const grace = values.grace === undefined ? DEFAULT_GRACE_MS : Number(values.grace);
  if (!(grace >= 0)) fail(`--grace needs a number of milliseconds, got '${values.grace}'.`);
  // Loaded here, not at start: `forkpool --help` answers without bullmq and ioredis installed.
  const { runHost } = require('../cluster') as typeof import('../cluster');
  // A Redis that is not up yet (started beside the host, say) is waited for, and the wait is said.
  const waiting = setTimeout(() => process.stderr.write(`forkpool worker: waiting for Redis at ${describeConnection(values.redis!)}...\n`), WAITING_NOTICE_MS);
  const host = await runHost({
    connection: values.redis,
    queue: values.queue,
    prefix: values.prefix,
    module: values.module,
    processes: positiveInteger('processes', values.processes),
  });
  clearTimeout(waiting);
  const modulePart = values.module === undefined ? '' : `, module ${values.module}`;
  process.stdout.write(`forkpool worker ${host.id}: queue '${host.queue}', ${host.processes} processes${modulePart}\n`);
  if (values.verbose) {
    // The first children started with the host, before anyone could listen.
    for (const pid of host.pids) process.stdout.write(`spawn ${pid}\n`);
    host.on('spawn', ({ pid }) => process.stdout.write(`spawn ${pid}\n`));
    host.on('exit', ({ pid, reason }) => process.stdout.write(`exit ${pid} ${reason}\n`));
  }
  let broken = false;
  let signals = 0;
  // The host closes on a signal, or by itself when its pool breaks; host.close() resolves once it has.
  await new Promise<void>((resolve) => {
    host.on('broken', (error) => {
      broken = true;
      process.stderr.write(`forkpool worker ${host.id}: its pool is broken, it takes no more chunks: ${error.message}\n`);
      void host.close({ timeout: 0 }).then(resolve);
    });
    const stop = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) process.stdout.write(`forkpool worker ${host.id}: ${signal}, closing (a second signal hands its chunks back now)\n`);
      // A third: Redis does not answer, say, and the host cannot leave as it should. It leaves anyway.
      if (signals === 3) process.exit(1);
      void host.close({ timeout: signals === 1 ? grace : 0 }).then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  process.stdout.write(`forkpool worker ${host.id}: closed\n`);
  process.exitCode = broken ? 1 : 0;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (command !== 'worker') fail(`unknown command '${command}'.`);
  await worker(args);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`forkpool: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
