/**
 * `npm run soak [-- <tasks> [<killEveryMs>]]`: the soak of soak.ts at full size (1,000,000 tasks), printing
 * its progress and counts; exits 1 if anything went wrong.
 */
import { runSoak } from './soak';

async function main(): Promise<void> {
  const tasks = Number(process.argv[2] ?? 1_000_000);
  const killEveryMs = Number(process.argv[3] ?? 200);
  console.log(`soak: ${tasks} tasks, a child SIGKILLed about every ${killEveryMs} ms`);
  const report = await runSoak({ tasks, killEveryMs, log: (line) => console.log(line) });
  const { problems, survivors, ...counts } = report;
  console.log(JSON.stringify({ ...counts, survivors: survivors.length }, null, 2));
  if (problems.length > 0) {
    console.log(`FAILED:\n- ${problems.join('\n- ')}`);
    process.exitCode = 1;
  } else {
    console.log('OK: every task accounted for once; no child outlived join()');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
