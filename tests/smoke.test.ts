import { Pool } from '../src';
import path from 'node:path';

test('smoke', async () => {
  const pool = new Pool({ processes: 2, module: path.join(__dirname, 'fixtures/tasks.js') });
  expect(await pool.map('square', [1, 2, 3])).toEqual([1, 4, 9]);
  pool.close();
  await pool.join();
});
