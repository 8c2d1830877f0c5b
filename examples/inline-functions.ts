/**
 * Inline functions: pass a function value instead of a module export. The pool sends its source text to
 * the child, which compiles it there, so the function must be self-contained: everything it uses is a
 * parameter, a local, a global (Math, JSON, Buffer, process...) or something it `require`s itself.
 *
 *   npx ts-node examples/inline-functions.ts
 */
import path from 'node:path';
import { Pool } from '../src';

async function main(): Promise<void> {
  const pool = new Pool({ processes: 2 });

  // Self-contained: uses only its parameter.
  const cubes = await pool.map((x: number) => x ** 3, [1, 2, 3, 4]);
  console.log(`cubes: ${cubes.join(' ')}`);

  // A named function works the same way; so does an async one (its promise is awaited in the child).
  async function digest(text: string): Promise<string> {
    // `require` inside an inline function loads modules in the child.
    const { createHash } = require('node:crypto') as typeof import('node:crypto');
    return createHash('sha256').update(text).digest('hex').slice(0, 16);
  }
  console.log(`sha256('forkpool') starts with ${await pool.apply(digest, ['forkpool'])}`);

  // The mistake: closing over an outer variable. The child has the function's source, not this scope,
  // so `factor` does not exist there. The task fails (like Python refusing to pickle a local function),
  // with an error that names the variable.
  const factor = 10;
  try {
    await pool.map((x: number) => x * factor, [1, 2, 3]);
  } catch (error) {
    console.log(`closing over 'factor' fails: ${(error as Error).name}: ${(error as Error).message}`);
  }

  // The fix: pass the value as an argument (starmap spreads each array into the arguments).
  const scaled = await pool.starmap((x: number, k: number) => x * k, [[1, factor], [2, factor], [3, factor]]);
  console.log(`passing 'factor' as an argument works: ${scaled.join(' ')}`);

  // Imports are outer variables too, and the error names them as the compiled code spells them: TypeScript
  // turns `path.basename` into something like `node_path_1.default.basename`.
  try {
    await pool.apply((file: string) => path.basename(file), ['/tmp/report.txt']);
  } catch (error) {
    console.log(`using the imported 'path' fails: ${(error as Error).message.split('.')[0]}`);
  }
  // The fix: require it inside the function.
  const base = await pool.apply((file: string) => (require('node:path') as typeof path).basename(file), ['/tmp/report.txt']);
  console.log(`requiring 'node:path' inside works: ${base}`);

  pool.close();
  await pool.join();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
