// Child process for the backend crash test: writes keys one by one and prints "ack N" only after each write
// resolved. The parent kills it with SIGKILL mid-stream and checks that every acknowledged write survived.
import { PostgresBackend } from '../../core/backend/postgres.ts';
import { SqliteBackend } from '../../core/backend/sqlite.ts';

const [engine, target, prefix] = process.argv.slice(2) as [string, string, string];
const b =
  engine === 'postgres'
    ? await PostgresBackend.open({ url: target, sweepMs: 0 })
    : new SqliteBackend({ path: target, sweepMs: 0 });
for (let i = 0; i < 1_000_000; i++) {
  await b.put({ key: `${prefix}${i}`, value: `value-${i}` });
  process.stdout.write(`ack ${i}\n`);
}
