import { SQL } from 'bun';

/** Where the test PostgreSQL lives: TP_TEST_POSTGRES_URL, or the local cluster .ci/run starts. */
export const adminUrl = process.env.TP_TEST_POSTGRES_URL ?? 'postgres://tp:tp@127.0.0.1:5432/postgres';

let reachable: boolean | undefined;

/** True when a PostgreSQL server answers at `adminUrl`; prints a loud notice once when it does not. */
export async function postgresAvailable(): Promise<boolean> {
  if (reachable !== undefined) return reachable;
  const sql = new SQL(adminUrl, { max: 1, connectionTimeout: 3 });
  try {
    await sql`SELECT 1`;
    reachable = true;
  } catch (err) {
    reachable = false;
    console.error(
      `\n!!! PostgreSQL is not reachable at ${adminUrl.replace(/:[^:@/]+@/, ':***@')} (${(err as Error).message}).\n` +
        '!!! PostgreSQL tests are SKIPPED. Run .ci/run (it installs and starts PostgreSQL) or set TP_TEST_POSTGRES_URL.\n',
    );
  } finally {
    await sql.close();
  }
  return reachable;
}

/** Creates a fresh, empty database and returns its URL plus a function that drops it. */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tp_test_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const admin = new SQL(adminUrl, { max: 1 });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.close();
  const url = adminUrl.replace(/\/[^/?]*(\?.*)?$/, `/${name}$1`).replace('$1', '');
  return {
    url,
    drop: async () => {
      const a = new SQL(adminUrl, { max: 1 });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.close();
    },
  };
}
