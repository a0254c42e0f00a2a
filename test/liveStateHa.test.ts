import { afterAll, describe, expect, test } from 'bun:test';
import { ApiClient } from '../core/api/client.ts';
import { AckSchema, StoredLockSchema } from '../core/api/schemas.ts';
import { localHostIdentity } from '../core/auth/localIdentity.ts';
import { loadRegistry } from '../core/plugin/registry.ts';
import { startProxy } from '../core/proxy/server.ts';
import { PLUGINS } from '../plugins/index.ts';
import { startTestAuth, waitFor } from './helpers/cluster.ts';
import { freshDatabase, postgresAvailable } from './helpers/postgres.ts';

const available = await postgresAvailable();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe.skipIf(!available)('watched state across auth servers on one PostgreSQL', () => {
  test('a proxy following one auth server sees a role and a lock made through the other within 1 s', async () => {
    const db = await freshDatabase();
    cleanups.push(db.drop);
    const storage = { type: 'postgres' as const, url: db.url };
    const a = await startTestAuth({ storage, clusterName: 'ha-watch.test' });
    cleanups.push(() => a.close());
    const b = await startTestAuth({ storage, clusterName: 'ha-watch.test' });
    cleanups.push(() => b.close());
    const id = await localHostIdentity(a.server.service, 'proxy', 'proxy-a', ['127.0.0.1']);
    const auth = new ApiClient([a.server.addr], { ca: id.tlsCa.join(''), cert: id.tlsCert, key: id.tlsKey });
    const proxy = await startProxy({
      listen: '127.0.0.1:0',
      identity: id,
      auth,
      version: 'test',
      name: 'proxy-a',
      plugins: await loadRegistry(PLUGINS),
    });
    cleanups.push(() => proxy.close());
    await waitFor('the proxy snapshot', async () => (await proxy.view.roles()).length > 0);

    const t0 = performance.now();
    await b.admin.post(AckSchema, '/v1/roles', {
      role: { metadata: { name: 'via-b' }, spec: { allow: {}, deny: {} } },
    });
    await waitFor('the role at the proxy', async () =>
      (await proxy.view.roles()).some((r) => r.metadata.name === 'via-b'),
    );
    expect(performance.now() - t0).toBeLessThan(1000);

    const t1 = performance.now();
    await b.admin.post(StoredLockSchema, '/v1/locks', { target: { user: 'mallory' }, message: 'through auth b' });
    await waitFor('the lock at the proxy', async () => !!(await proxy.view.lockFor({ user: 'mallory' })));
    expect(performance.now() - t1).toBeLessThan(1000);
  }, 60_000);
});
