import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { waitFor } from '../helpers/cluster.ts';
import { ssh } from '../helpers/sshd.ts';
import { type FixtureUser, me, PASSWORD, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

// One access gate: the relay (tp ssh), the web terminal and the jump port (ssh -J) refuse a locked user and a denied
// login with the same message, audited with the same fields. (The jump port cannot see the login inside the
// end-to-end SSH session, so a denied login there is refused, and audited alike, by the node.)

const cluster = 'test.cluster';
let f: SshFixture;
let base: string;

beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1' }], { secondFactor: 'off' });
  base = `https://${f.cluster.proxy.addr}`;
  await f.role('metadata: {name: no-me}\nspec:\n  allow: {}\n');
});
afterAll(async () => f?.close());

/** The three ways into node1 for one user, each returning the error text the path reports (or its exit). */
async function paths(u: FixtureUser) {
  const config = join(u.home, 'ssh_config');
  writeFileSync(config, (await u.tp(['config'])).stdout);
  const res = await fetch(`${base}/webapi/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: u.name, password: PASSWORD }),
    tls: { rejectUnauthorized: false },
  } as RequestInit);
  expect(res.status).toBe(200);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  return {
    relay: async () => (await u.tp(['ssh', 'node1', 'true'])).stderr,
    web: () =>
      new Promise<string>((resolve) => {
        const q = new URLSearchParams({ node: 'node1', login: me });
        const ws = new WebSocket(`wss://${f.cluster.proxy.addr}/webapi/ui/terminal?${q}`, {
          headers: { origin: base, cookie },
          rejectUnauthorized: false,
        });
        ws.on('message', (data, binary) => {
          if (binary) return;
          const frame = JSON.parse(String(data)) as { type: string; message?: string };
          resolve(frame.type === 'error' ? String(frame.message) : `frame ${frame.type}`);
          ws.close();
        });
        ws.on('unexpected-response', (_req, r) => resolve(`HTTP ${r.statusCode}`));
        ws.on('error', (err) => resolve(`error ${err.message}`));
      }),
    jump: async () => {
      const r = await ssh(['-F', config, '-J', `tp-proxy.${cluster}`, `${me}@node1.${cluster}`, 'true']);
      return `exit ${r.code}`;
    },
  };
}

/** The refusals audited for `user` whose error is `message`, by the path that refused. */
async function refusals(user: string, message: string): Promise<Map<string, Record<string, unknown>>> {
  const all = await f.cluster.auth.client.searchEvents(
    new URLSearchParams({ type: 'auth.attempt', user, limit: '1000' }),
  );
  return new Map(all.filter((e) => e.error === message && e.success === false).map((e) => [String(e.via), e]));
}

const SAME = ['type', 'success', 'kind', 'user', 'login', 'target', 'error'] as const;
const pick = (e: Record<string, unknown> | undefined) => Object.fromEntries(SAME.map((k) => [k, e?.[k]]));

describe('one access gate for every path to a node', () => {
  test('a locked user and a denied login: the same message and the same audit fields on relay, web and jump', async () => {
    // A denied login: dora's certificate names the login, then a role she holds is changed to deny it.
    const dora = await f.user('dora', ['ops', 'no-me']);
    const d = await paths(dora);
    const file = join(f.dir, 'no-me.yaml');
    writeFileSync(file, `metadata: {name: no-me}\nspec:\n  deny: {logins: ["${me}"]}\n`);
    expect((await f.admin(['roles', 'create', '-f', file, '--force'])).code).toBe(0);
    await waitFor('the deny at the proxy', async () =>
      (await f.cluster.proxy.view.roles()).some((r) => r.metadata.name === 'no-me' && !!r.spec.deny.logins),
    );
    const denied = `login "${me}" is denied by role "no-me"`;
    expect(await d.relay()).toContain(denied);
    expect(await d.web()).toBe(denied);
    expect(await d.jump()).toBe('exit 255');
    await waitFor('three audited refusals', async () => (await refusals('dora', denied)).size === 3);
    const deniedEvents = await refusals('dora', denied);
    expect([...deniedEvents.keys()].sort()).toEqual(['node', 'relay', 'web']);
    const deniedShape = {
      type: 'auth.attempt',
      success: false,
      kind: 'node',
      user: 'dora',
      login: me,
      target: 'node1',
    };
    for (const e of deniedEvents.values()) expect(pick(e)).toEqual({ ...deniedShape, error: denied });
    for (const e of deniedEvents.values()) expect(String(e['addr.remote'])).toMatch(/^127\.0\.0\.1:\d+$/);

    // A locked user: refused by the gate on every path, before a byte reaches the node.
    const lena = await f.user('lena', ['ops']);
    const l = await paths(lena);
    expect((await f.admin(['locks', 'add', '--user', 'lena', '--message', 'gate test'])).code).toBe(0);
    await waitFor('the lock at the proxy', async () => !!(await f.cluster.proxy.view.lockFor({ user: 'lena' })));
    const locked = 'user "lena" is locked: gate test';
    expect(await l.relay()).toContain(locked);
    expect(await l.web()).toBe(locked);
    expect(await l.jump()).toBe('exit 255');
    await waitFor('three audited refusals', async () => (await refusals('lena', locked)).size === 3);
    const lockedEvents = await refusals('lena', locked);
    expect([...lockedEvents.keys()].sort()).toEqual(['jump', 'relay', 'web']);
    const lockedShape = { type: 'auth.attempt', success: false, kind: 'node', user: 'lena', target: 'node1' };
    // The jump port never sees the login (it is inside the SSH session); everything else is the same.
    expect(pick(lockedEvents.get('relay'))).toEqual({ ...lockedShape, login: me, error: locked });
    expect(pick(lockedEvents.get('web'))).toEqual({ ...lockedShape, login: me, error: locked });
    expect(pick(lockedEvents.get('jump'))).toEqual({ ...lockedShape, login: undefined, error: locked });
  });
});
