import { afterAll, beforeAll, describe, test } from 'bun:test';
import { freshDatabase, postgresAvailable } from '../../test/helpers/postgres.ts';
import { backendConformance } from './conformance.ts';
import { PostgresBackend } from './postgres.ts';

const available = await postgresAvailable();
let db: Awaited<ReturnType<typeof freshDatabase>> | undefined;

if (available) {
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => db?.drop());
  backendConformance('postgres', ({ clock, keepEvents }) =>
    PostgresBackend.open({ url: db!.url, clock, keepEvents, sweepMs: 0, pollMs: 200 }),
  );
} else {
  describe('backend conformance: postgres', () => {
    test.skip('PostgreSQL not reachable (see notice above)', () => {
      // Skipped: postgresAvailable() printed why.
    });
  });
}
