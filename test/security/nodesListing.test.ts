import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { ApiClient } from '../../core/api/client.ts';
import { NodeRecordSchema } from '../../core/api/schemas.ts';
import { OnlineNodesSchema } from '../../core/api/webSchemas.ts';
import { profileKeysDir } from '../../core/client/profile.ts';
import { type FixtureUser, PASSWORD, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

// Finding 10 of issue 15: a user whose role shows only env=prod got every node (addresses, labels) from the auth
// API through the proxy (`GET /webapi/auth/v1/nodes`) while `tp ls` showed only prod. Every route filters alike.

let f: SshFixture;
let paula: FixtureUser;

beforeAll(async () => {
  f = await startSshFixture([
    { name: 'dev1', labels: { env: 'dev' } },
    { name: 'prod1', labels: { env: 'prod' } },
  ]);
  await f.role(
    'metadata: {name: prod-only}\nspec:\n  allow:\n    logins: ["{{internal.logins}}"]\n    node_labels: {env: prod}\n' +
      '    rules: [{resources: [node], verbs: [list, read]}]\n',
  );
  paula = await f.user('paula', ['prod-only']);
});
afterAll(async () => f.close());

/** An API client holding paula's own certificate from her `tp login` profile. */
function asPaula(prefix = ''): ApiClient {
  const dir = profileKeysDir(f.cluster.proxy.addr, paula.home);
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return new ApiClient(
    [f.cluster.proxy.addr],
    { ca: read('cas.pem'), cert: read('tls.crt'), key: read('tls.key') },
    15_000,
    prefix,
  );
}

const names = (nodes: { name: string }[]) => nodes.map((n) => n.name).sort();

describe('listings filter by the caller roles on every route', () => {
  test('tp ls shows the prod node only', async () => {
    const r = await paula.tp(['ls', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(names(JSON.parse(r.stdout))).toEqual(['prod1']);
  });

  test('the auth API through the proxy (GET /webapi/auth/v1/nodes, tp nodes ls) hides the dev node', async () => {
    expect(names(await asPaula('/webapi/auth').get(v.array(NodeRecordSchema), '/v1/nodes'))).toEqual(['prod1']);
    const r = await paula.tp(['nodes', 'ls', '--format', 'json'], { env: { TP_DATA_DIR: '' } });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('dev1');
    expect(names(JSON.parse(r.stdout))).toEqual(['prod1']);
  });

  test('the proxy web API (GET /webapi/nodes) hides the dev node', async () => {
    expect(names(await asPaula().get(OnlineNodesSchema, '/webapi/nodes'))).toEqual(['prod1']);
  });

  test('the web UI listing hides the dev node, also when searched for by name or label', async () => {
    const base = `https://${f.cluster.proxy.addr}`;
    const tls = { rejectUnauthorized: false };
    const login = await fetch(`${base}/webapi/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'paula', password: PASSWORD }),
      tls,
    } as RequestInit);
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    for (const q of ['', '?q=dev1', '?label=env%3Ddev']) {
      const res = await fetch(`${base}/webapi/ui/nodes${q}`, { headers: { cookie }, tls } as RequestInit);
      const page = (await res.json()) as { items: { name: string }[]; total: number };
      expect(page.items.map((n) => n.name)).not.toContain('dev1');
    }
  });

  test('an admin still sees every node', async () => {
    const r = await f.admin(['nodes', 'ls', '--format', 'json']);
    expect(names(JSON.parse(r.stdout))).toEqual(['dev1', 'prod1']);
  });
});
