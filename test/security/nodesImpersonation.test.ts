import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { AuditEventSchema } from '../../core/api/schemas.ts';
import { profileKeysDir } from '../../core/client/profile.ts';
import { parseCert } from '../../core/crypto/sshcert.ts';
import { issueTlsCert } from '../../core/crypto/x509.ts';
import { newHostKeys } from '../../core/identity/hostIdentity.ts';
import { tp } from '../helpers/cli.ts';
import { startFakeServer } from '../helpers/nodesFakeServer.ts';
import { PASSWORD, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

// Finding 3 of issue 15: a node joined asking for principals 127.0.0.1 and localhost, got a host certificate valid
// as a TLS server for them, served it from a fake proxy, and `tp login --proxy FAKE --ca-cert cas.pem` sent it the
// user's password. Now auth names nodes itself, node certificates carry no server names, and clients check the role.

let f: SshFixture;
let casPem: string;
const cluster = 'test.cluster';

beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1' }]);
  await f.user('alice', ['ops']);
  casPem = join(f.dir, 'cas.pem');
  writeFileSync(casPem, (await f.cluster.auth.client.getCa('tls')).tlsCerts.join(''));
});
afterAll(async () => f.close());

const nodeToken = async () => (await f.cluster.auth.client.createToken({ roles: ['node'], ttlMs: 600_000 })).token;

/** Joins through the proxy's `/webapi/join` as an agent would, with whatever it asks for. */
async function joinAsNode(body: { token: string; hostName: string; principals?: string[] }) {
  const keys = newHostKeys();
  const res = await fetch(`https://${f.cluster.proxy.addr}/webapi/join`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ role: 'node', sshPublicKey: keys.sshPublicKey, tlsPublicKey: keys.tlsPublicKey, ...body }),
    tls: { rejectUnauthorized: false },
  } as RequestInit);
  const out = (await res.json()) as {
    hostId: string;
    sshCert: string;
    tlsCert: string;
    error?: { code: string; message: string };
  };
  return { status: res.status, ...out, keys };
}

describe('auth decides a joining node’s names', () => {
  test('a node asking for principals 127.0.0.1 and localhost is refused, audited, and its token not spent', async () => {
    const token = await nodeToken();
    const r = await joinAsNode({ token, hostName: 'evil1', principals: ['127.0.0.1', 'localhost'] });
    expect(r.status).toBe(400);
    expect(r.error!.message).toContain('a joining node may not ask for principals (127.0.0.1, localhost)');
    const events = await f.cluster.auth.admin.get(v.array(AuditEventSchema), '/v1/audit/events?type=join');
    expect(events.some((e) => e.host === 'evil1' && e.success === false)).toBe(true);
    expect((await joinAsNode({ token, hostName: 'evil1' })).status).toBe(200);
  });

  test('a joined node’s certificates name its host ID, its name and <name>.<cluster>, and no TLS server name', async () => {
    const r = await joinAsNode({ token: await nodeToken(), hostName: 'plain1' });
    expect(r.status).toBe(200);
    const ssh = parseCert(r.sshCert);
    expect([...ssh.principals].sort()).toEqual(
      [r.hostId, 'plain1', `${r.hostId}.${cluster}`, `plain1.${cluster}`].sort(),
    );
    const x = new X509Certificate(r.tlsCert);
    expect(x.subjectAltName).toBeUndefined();
    expect(x.subject).toContain('O=system:node');
    expect(x.checkHost('localhost')).toBeUndefined();
    expect(x.checkIP('127.0.0.1')).toBeUndefined();
  });

  test('names that are addresses, localhost, host IDs or under the cluster are refused', async () => {
    for (const hostName of [
      '127.0.0.1',
      'localhost',
      '::1',
      `web.${cluster}`,
      'e4f1c9a0-0000-4000-8000-000000000000',
    ]) {
      const r = await joinAsNode({ token: await nodeToken(), hostName });
      expect(r.status, hostName).toBe(400);
    }
  });

  test('a second node may not take a live node’s name', async () => {
    const r = await joinAsNode({ token: await nodeToken(), hostName: 'node1' });
    expect(r.status).toBe(409);
    expect(r.error!.message).toContain(`node name "node1" is taken by node ${f.cluster.agents.get('node1')!.hostId}`);
  });
});

/** A node certificate as auth issued them before this fix: valid for TLS serving as 127.0.0.1 and localhost. */
async function legacyNodeCert(): Promise<{ cert: string; key: string }> {
  const keys = newHostKeys();
  const svc = f.cluster.auth.server.service;
  const cert = await issueTlsCert({
    ca: svc.ca('tls').tls!,
    publicKey: keys.tlsPublicKey,
    subject: { commonName: 'a-node-host-id', organization: ['system:node'], identity: { kind: 'node' } },
    now: Date.now(),
    ttlMs: 3_600_000,
    dnsNames: ['localhost'],
    ips: ['127.0.0.1'],
    usage: 'both',
  });
  return { cert, key: keys.tlsKey };
}

describe('clients send credentials only to a server whose certificate names the role they meant', () => {
  test('tp login to a fake proxy serving a node certificate refuses before sending the password', async () => {
    await using fake = await startFakeServer(await legacyNodeCert());
    const r = await tp(
      ['login', '--proxy', fake.addr, '--ca-cert', casPem, '--user', 'alice', '--password-stdin', '--otp', '123456'],
      { env: { TP_HOME: join(f.dir, 'home-victim') }, stdin: PASSWORD },
    );
    expect(r.stderr).toContain(
      `the server at ${fake.addr} presented a node certificate, not a proxy's: refusing to send credentials`,
    );
    expect(r.code).toBe(6);
    expect(fake.received()).toBe(0);
  });

  test('a freshly joined node’s certificate is not even valid for the address it is served from', async () => {
    const r = await joinAsNode({ token: await nodeToken(), hostName: 'fresh1' });
    await using fake = await startFakeServer({ cert: r.tlsCert, key: r.keys.tlsKey });
    const out = await tp(['login', '--proxy', fake.addr, '--ca-cert', casPem, '--user', 'alice', '--password-stdin'], {
      env: { TP_HOME: join(f.dir, 'home-victim2') },
      stdin: PASSWORD,
    });
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('refusing to send credentials');
    expect(fake.received()).toBe(0);
  });

  test('admin commands to a fake auth server serving a node certificate refuse before sending a request', async () => {
    await using fake = await startFakeServer(await legacyNodeCert());
    const r = await tp(['users', 'ls', '--data-dir', f.cluster.auth.dataDir, '--auth-server', fake.addr]);
    expect(r.stderr).toContain(`presented a node certificate, not an auth server's: refusing to send credentials`);
    expect(fake.received()).toBe(0);
  });

  test('the real proxy passes the same check', async () => {
    const r = await tp(
      ['login', '--proxy', f.cluster.proxy.addr, '--ca-cert', casPem, '--user', 'alice', '--password-stdin'],
      { env: { TP_HOME: join(f.dir, 'home-alice-ca') }, stdin: PASSWORD },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const ls = await tp(['ls', '--format', 'json'], { env: { TP_HOME: join(f.dir, 'home-alice-ca') } });
    expect(ls.code).toBe(0);
  });

  test('tp ssh and tp ls with a profile whose proxy address now serves a node certificate send nothing', async () => {
    const home = join(f.dir, 'home-alice-moving');
    const login = await tp(
      ['login', '--proxy', f.cluster.proxy.addr, '--ca-cert', casPem, '--user', 'alice', '--password-stdin'],
      { env: { TP_HOME: home }, stdin: PASSWORD },
    );
    expect(login.code).toBe(0);
    await using fake = await startFakeServer(await legacyNodeCert());
    // The same profile, keys and pinned CAs, pointed at the address a node now answers on.
    const moved = join(f.dir, 'home-moved');
    cpSync(profileKeysDir(f.cluster.proxy.addr, home), profileKeysDir(fake.addr, moved), { recursive: true });
    const profile = JSON.parse(readFileSync(join(home, 'profile.json'), 'utf8'));
    writeFileSync(join(moved, 'profile.json'), JSON.stringify({ ...profile, proxy: fake.addr }));
    const env = { TP_HOME: moved };
    const refusal = `the server at ${fake.addr} presented a node certificate, not a proxy's: refusing to send credentials`;
    const sshed = await tp(['ssh', 'node1', 'echo', 'should-not-run'], { env });
    expect(sshed.stderr).toContain(refusal);
    expect(sshed.code).toBe(255);
    const listed = await tp(['ls'], { env });
    expect(listed.stderr).toContain(refusal);
    expect(fake.received()).toBe(0);
  });
});
