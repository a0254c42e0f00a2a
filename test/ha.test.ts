import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import { ApiClient, loadAdminIdentity } from '../core/api/client.ts';
import { CreatedUserSchema, PublicCaSchema, PublicUserSchema } from '../core/api/schemas.ts';
import { tpOk } from './helpers/cli.ts';
import { freshDatabase, postgresAvailable } from './helpers/postgres.ts';

/** Runs the tp CLI and parses its JSON output. */
async function tpJson(args: string[]): Promise<unknown> {
  return JSON.parse(await tpOk(args));
}

const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');
const available = await postgresAvailable();
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Starts `tp ca start` as its own process and waits for the address it prints. */
async function startAuthProcess(url: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-ha-'));
  dirs.push(dataDir);
  const child = Bun.spawn(
    [
      process.execPath,
      entry,
      'ca',
      'start',
      '--storage-url',
      url,
      '--data-dir',
      dataDir,
      '--listen',
      '127.0.0.1:0',
      '--cluster-name',
      'ha.test',
    ],
    { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, TP_LOG_FORMAT: 'json' } },
  );
  const reader = child.stdout.getReader();
  let out = '';
  const deadline = Date.now() + 20_000;
  while (!/listening on (\S+)/.test(out)) {
    if (Date.now() > deadline) throw new Error(`auth did not start: ${out}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`auth exited: ${out} ${await new Response(child.stderr).text()}`);
    out += new TextDecoder().decode(value);
  }
  return { child, dataDir, addr: /listening on (\S+)/.exec(out)![1]! };
}

describe.skipIf(!available)('HA: two auth servers on one PostgreSQL', () => {
  test('both serve one cluster, and a client with both addresses survives kill -9 of one', async () => {
    const db = await freshDatabase();
    const started = await Promise.allSettled([startAuthProcess(db.url), startAuthProcess(db.url)]);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      // Never leave the other one running.
      for (const r of started) if (r.status === 'fulfilled') r.value.child.kill('SIGKILL');
      await db.drop();
      throw (failed as PromiseRejectedResult).reason;
    }
    const [a, b] = started.map(
      (r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof startAuthProcess>>>).value,
    ) as [Awaited<ReturnType<typeof startAuthProcess>>, Awaited<ReturnType<typeof startAuthProcess>>];
    try {
      const idA = loadAdminIdentity(a.dataDir);
      const idB = loadAdminIdentity(b.dataDir);
      const onlyA = new ApiClient([a.addr], idA.tls);
      const onlyB = new ApiClient([b.addr], idB.tls);
      const caA = await onlyA.get(PublicCaSchema, '/v1/cas/user');
      const caB = await onlyB.get(PublicCaSchema, '/v1/cas/user');
      expect(caA.sshKeys).toEqual(caB.sshKeys);
      expect(idA.tls.ca).toBe(idB.tls.ca);

      const both = new ApiClient([a.addr, b.addr], idA.tls, 5_000);
      await both.post(CreatedUserSchema, '/v1/users', { name: 'alice', roles: ['access'] });
      expect((await onlyB.get(v.array(PublicUserSchema), '/v1/users')).map((u) => u.name)).toEqual(['alice']);

      a.child.kill('SIGKILL');
      await a.child.exited;
      for (const name of ['bob', 'carol']) await both.post(CreatedUserSchema, '/v1/users', { name, roles: ['access'] });
      expect((await both.get(v.array(PublicUserSchema), '/v1/users')).map((u) => u.name)).toEqual([
        'alice',
        'bob',
        'carol',
      ]);
      await expect(onlyA.get(v.array(PublicUserSchema), '/v1/users')).rejects.toThrow('cannot reach 127.0.0.1');
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGTERM');
      await Promise.all([a.child.exited, b.child.exited]);
      await db.drop();
    }
  });

  test('a rotation driven through either server: both sign and trust the same keys after every step', async () => {
    const db = await freshDatabase();
    const a = await startAuthProcess(db.url);
    const b = await startAuthProcess(db.url).catch(async (err) => {
      a.child.kill('SIGKILL');
      throw err;
    });
    const on = (dataDir: string, args: string[]) =>
      tpJson(['rotate', ...args, '--data-dir', dataDir, '--format', 'json']);
    const keys = async (dataDir: string) =>
      ((await on(dataDir, ['status'])) as { cas: { type: string; active: string; trusted: string[] }[] }).cas;
    const converged = async (what: string) => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const [ka, kb] = [await keys(a.dataDir), await keys(b.dataDir)];
        if (JSON.stringify(ka) === JSON.stringify(kb)) return ka;
        if (Date.now() > deadline) throw new Error(`servers disagree after ${what}: ${JSON.stringify([ka, kb])}`);
        await Bun.sleep(200);
      }
    };
    try {
      const before = await converged('start-up');
      await on(a.dataDir, ['start', '--type', 'all', '--manual']);
      expect((await converged('init via A')).every((c) => c.trusted.length === 2)).toBe(true);
      await on(b.dataDir, ['phase', 'update_clients']);
      const clients = await converged('update_clients via B');
      expect(clients.map((c) => c.active)).not.toEqual(before.map((c) => c.active));
      await on(a.dataDir, ['rollback']);
      await converged('rollback via A');
      await on(b.dataDir, ['phase', 'standby']);
      expect(await converged('standby via B')).toEqual(before);
    } finally {
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      await Promise.all([a.child.exited, b.child.exited]);
      await db.drop();
    }
  }, 60_000);
});
