/**
 * `npm run soak:faults [-- <tasks> [<killEveryMs> [<terminateEvery>]]]`: the fault soak of fault-soak.ts at
 * full size (100,000 tasks by default), printing its progress and figures; exits 1 if anything went wrong.
 */
import { runFaultSoak } from './fault-soak';

async function main(): Promise<void> {
  const tasks = Number(process.argv[2] ?? 100_000);
  const killEveryMs = Number(process.argv[3] ?? 300);
  const terminateEvery = Number(process.argv[4] ?? 2000);
  console.log(`fault soak: ${tasks} tasks, a child SIGKILLed about every ${killEveryMs} ms, the pool terminated about once in ${terminateEvery} tasks`);
  const report = await runFaultSoak({ tasks, killEveryMs, terminateEvery, log: (line) => console.log(line) });
  const { problems, survivors, ...figures } = report;
  console.log(JSON.stringify({ ...figures, survivors: survivors.length }, null, 2));
  if (problems.length > 0) {
    console.log(`FAILED:\n- ${problems.join('\n- ')}`);
    process.exitCode = 1;
  } else {
    console.log('OK: every task settled once, as it could have; no input ran twice; no pool broke; no child outlived join()');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
