import { afterEach, describe, expect, test } from 'bun:test';
import * as v from 'valibot';
import { ApiClient } from '../core/api/client.ts';
import {
  AckSchema,
  CreatedUserSchema,
  JoinAnswerSchema,
  LoginResponseSchema,
  PublicCaSchema,
  PublicUserSchema,
} from '../core/api/schemas.ts';
import { totpCode } from '../core/auth/users.ts';
import { ManualClock } from '../core/clock.ts';
import { formatAuthorizedKey, sshPublicBlob } from '../core/crypto/keys.ts';
import { createTlsCA, issueTlsCert } from '../core/crypto/x509.ts';
import { AccessDenied, BadParameter, LimitExceeded, Locked, Unauthenticated } from '../core/errors.ts';
import { auditOf } from './helpers/audit.ts';
import { run } from './helpers/cli.ts';
import { clientKeys, startTestAuth, type TestAuth } from './helpers/cluster.ts';

const PASSWORD = 'correct horse battery staple';

/** Awaits a call that must fail and returns its error; a call that succeeds fails the test. */
async function failure(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected the call to fail, but it succeeded');
}
let auth: TestAuth | undefined;
afterEach(async () => {
  await auth?.close();
  auth = undefined;
});

function loginBody(username: string, password: string, otp?: string) {
  const k = clientKeys();
  return {
    keys: k,
    body: {
      username,
      password,
      otp,
      sshPublicKey: formatAuthorizedKey(sshPublicBlob(k.ssh.publicKey)),
      tlsPublicKey: k.tlsPublicKey,
    },
  };
}

async function events(type: string) {
  return auditOf(auth!.admin, type);
}

describe('login', () => {
  test('a wrong password is refused and audited', async () => {
    auth = await startTestAuth();
    await auth.client.createUser({ name: 'alice', roles: ['access'], password: PASSWORD });
    const proxy = await auth.proxy();
    const err = await failure(
      proxy.post(LoginResponseSchema, '/v1/login', loginBody('alice', 'wrong password!!').body),
    );
    expect(err).toBeInstanceOf(AccessDenied);
    expect(err.message).toBe('invalid username or password');
    const unknown = await failure(proxy.post(LoginResponseSchema, '/v1/login', loginBody('nobody', PASSWORD).body));
    expect(unknown.message).toBe('invalid username or password');
    const failed = (await events('user.login')).filter((e) => !e.success);
    expect(failed.map((e) => e.user)).toEqual(['alice', 'nobody']);
    expect(JSON.stringify(failed)).not.toContain('wrong password');
  });

  test('five failures lock the account: the 6th attempt is refused even with the right password, until the window passes', async () => {
    const clock = new ManualClock(Date.now());
    auth = await startTestAuth({ clock });
    await auth.client.createUser({ name: 'alice', roles: ['access'], password: PASSWORD });
    const proxy = await auth.proxy();
    for (let i = 0; i < 5; i++) {
      expect(
        await failure(proxy.post(LoginResponseSchema, '/v1/login', loginBody('alice', `bad-password-${i}!`).body)),
      ).toBeInstanceOf(AccessDenied);
    }
    const sixth = await failure(proxy.post(LoginResponseSchema, '/v1/login', loginBody('alice', PASSWORD).body));
    expect(sixth).toBeInstanceOf(Locked);
    expect(sixth.message).toContain('locked until');
    expect((await events('user.locked_out')).map((e) => e.user)).toEqual(['alice']);
    clock.advance(31 * 60_000);
    const ok = await proxy.post(LoginResponseSchema, '/v1/login', loginBody('alice', PASSWORD).body);
    expect(ok.sshCert).toStartWith('ssh-ed25519-cert-v01@openssh.com ');
  });

  test('attempts beyond the per-minute rate are refused without checking the password', async () => {
    auth = await startTestAuth({ lockout: { maxFailures: 100, windowMs: 60_000, lockoutMs: 60_000, perMinute: 3 } });
    await auth.client.createUser({ name: 'alice', roles: ['access'], password: PASSWORD });
    const proxy = await auth.proxy();
    for (let i = 0; i < 3; i++)
      await failure(proxy.post(LoginResponseSchema, '/v1/login', loginBody('alice', 'x'.repeat(12)).body));
    expect(
      await failure(proxy.post(LoginResponseSchema, '/v1/login', loginBody('alice', PASSWORD).body)),
    ).toBeInstanceOf(LimitExceeded);
  });

  test('with second_factor otp: a missing, wrong or replayed code is refused', async () => {
    const clock = new ManualClock(Date.now());
    auth = await startTestAuth({ clock, secondFactor: 'otp' });
    const created = await auth.client.createUser({
      name: 'alice',
      roles: ['access'],
      password: PASSWORD,
    });
    const secret = new URL(created.totpUri!).searchParams.get('secret')!;
    const proxy = await auth.proxy();
    expect(
      (await failure(proxy.post(LoginResponseSchema, '/v1/login', loginBody('alice', PASSWORD).body))).message,
    ).toBe('invalid or reused second-factor code');
    const code = totpCode(secret, clock.now());
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    expect(
      await failure(proxy.post(LoginResponseSchema, '/v1/login', loginBody('alice', PASSWORD, wrong).body)),
    ).toBeInstanceOf(AccessDenied);
    await proxy.post(LoginResponseSchema, '/v1/login', loginBody('alice', PASSWORD, code).body);
    expect(
      (await failure(proxy.post(LoginResponseSchema, '/v1/login', loginBody('alice', PASSWORD, code).body))).message,
    ).toBe('this second-factor code was already used: wait for the next code');
    clock.advance(30_000);
    await proxy.post(
      LoginResponseSchema,
      '/v1/login',
      loginBody('alice', PASSWORD, totpCode(secret, clock.now())).body,
    );
  });

  test('a locked user cannot log in; the lock lapses with its TTL', async () => {
    const clock = new ManualClock(Date.now());
    auth = await startTestAuth({ clock });
    await auth.client.createUser({ name: 'alice', roles: ['access'], password: PASSWORD });
    await auth.client.createLock({ target: { user: 'alice' }, message: 'laptop stolen', ttlMs: 60_000 });
    const proxy = await auth.proxy();
    const err = await failure(proxy.post(LoginResponseSchema, '/v1/login', loginBody('alice', PASSWORD).body));
    expect(err).toBeInstanceOf(Locked);
    expect(err.message).toContain('laptop stolen');
    clock.advance(61_000);
    await proxy.post(LoginResponseSchema, '/v1/login', loginBody('alice', PASSWORD).body);
  });
});

describe('join tokens', () => {
  const joinBody = (token: string, host: string) => {
    const k = clientKeys();
    return {
      token,
      role: 'node',
      hostName: host,
      sshPublicKey: formatAuthorizedKey(sshPublicBlob(k.ssh.publicKey)),
      tlsPublicKey: k.tlsPublicKey,
    };
  };

  test('a single-use token joins once; reuse is refused and audited', async () => {
    auth = await startTestAuth();
    const { token } = await auth.client.createToken({ roles: ['node'], ttlMs: 600_000 });
    const joined = await auth.anonymous.post(JoinAnswerSchema, '/v1/join', joinBody(token, 'node-1'));
    expect(joined.sshCert).toContain('-cert-v01@openssh.com');
    expect(joined.userCa).toHaveLength(1);
    const again = await failure(auth.anonymous.post(JoinAnswerSchema, '/v1/join', joinBody(token, 'node-2')));
    expect(again).toBeInstanceOf(AccessDenied);
    expect(again.message).toBe('join token was already used (single-use)');
    expect((await events('join')).map((e) => e.success)).toEqual([true, false]);
  });

  test('an expired token is refused; a token of another role is refused; multi-use joins many', async () => {
    const clock = new ManualClock(Date.now());
    auth = await startTestAuth({ clock });
    const { token } = await auth.client.createToken({ roles: ['node'], ttlMs: 60_000 });
    clock.advance(61_000);
    expect((await failure(auth.anonymous.post(JoinAnswerSchema, '/v1/join', joinBody(token, 'n')))).message).toBe(
      'join token is invalid or expired',
    );
    const proxyTok = await auth.client.createToken({ roles: ['proxy'], ttlMs: 60_000 });
    expect(
      (await failure(auth.anonymous.post(JoinAnswerSchema, '/v1/join', joinBody(proxyTok.token, 'n')))).message,
    ).toBe('join token is for proxy, not node');
    const multi = await auth.client.createToken({
      roles: ['node'],
      uses: 'multi',
      ttlMs: 60_000,
    });
    await auth.anonymous.post(JoinAnswerSchema, '/v1/join', joinBody(multi.token, 'a'));
    await auth.anonymous.post(JoinAnswerSchema, '/v1/join', joinBody(multi.token, 'b'));
  });
});

describe('API authorization', () => {
  test('every call is authorized by the caller certificate: anonymous, user, proxy, node', async () => {
    auth = await startTestAuth();
    expect(await failure(auth.anonymous.get(v.array(PublicUserSchema), '/v1/users'))).toBeInstanceOf(Unauthenticated);
    await auth.client.createUser({ name: 'alice', roles: ['access'], password: PASSWORD });
    const proxy = await auth.proxy();
    const { keys, body } = loginBody('alice', PASSWORD);
    const certs = await proxy.post(LoginResponseSchema, '/v1/login', body);
    const alice = new ApiClient([auth.server.addr], {
      ca: certs.tlsCa.join(''),
      cert: certs.tlsCert,
      key: keys.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    });
    const denied = await failure(alice.get(v.array(PublicUserSchema), '/v1/users'));
    expect(denied).toBeInstanceOf(AccessDenied);
    expect(denied.message).toBe('"list" on user is not allowed by roles [access]');
    expect((await failure(alice.post(LoginResponseSchema, '/v1/login', body))).message).toBe('login is for proxies');
    expect(
      (await failure(proxy.post(CreatedUserSchema, '/v1/users', { name: 'eve', roles: ['admin'], password: PASSWORD })))
        .message,
    ).toBe('proxy identities may not user.create');
    const attempts = await events('auth.attempt');
    expect(attempts.map((e) => e.user).slice(0, 2)).toEqual(['alice', 'alice']);
    expect(attempts[2]?.user).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('certificates from a foreign CA or with a tampered signature get no identity', async () => {
    auth = await startTestAuth();
    const ca = await createTlsCA('test.cluster', Date.now());
    const k = clientKeys();
    const key = k.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const forged = await issueTlsCert({
      ca,
      publicKey: k.tls.publicKey,
      subject: { commonName: 'admin', identity: { kind: 'admin' } },
      now: Date.now(),
      ttlMs: 60_000,
      usage: 'client',
    });
    const caPem = (await auth.anonymous.get(PublicCaSchema, '/v1/cas/tls')).tlsCerts.join('');
    const foreign = new ApiClient([auth.server.addr], { ca: caPem, cert: forged, key });
    expect(await failure(foreign.get(v.array(PublicUserSchema), '/v1/users'))).toBeInstanceOf(Unauthenticated);
    const adminCert = (await Bun.file(`${auth.dataDir}/admin/tls.crt`).text()).trim();
    const der = Buffer.from(adminCert.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 5]! ^= 0xff;
    const lines = der
      .toString('base64')
      .match(/.{1,64}/g)!
      .join('\n');
    const tampered = `-----BEGIN CERTIFICATE-----\n${lines}\n-----END CERTIFICATE-----\n`;
    // Bun's own client refuses to present a tampered certificate, so curl (OpenSSL) presents it.
    const tamperedPath = `${auth.dataDir}/tampered.crt`;
    await Bun.write(tamperedPath, tampered);
    const {
      stdout: body,
      stderr,
      code,
    } = await run([
      'curl',
      '-sS',
      '--cacert',
      `${auth.dataDir}/admin/ca.crt`,
      '--cert',
      tamperedPath,
      '--key',
      `${auth.dataDir}/admin/tls.key`,
      '--resolve',
      `localhost:${auth.server.addr.split(':')[1]}:127.0.0.1`,
      `https://localhost:${auth.server.addr.split(':')[1]}/v1/users`,
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(body)).toEqual({
      error: { code: 'unauthenticated', message: 'a client certificate is required for user.list' },
    });
  });

  test('malformed bodies get one clear error and write nothing', async () => {
    auth = await startTestAuth();
    const before = await auth.server.backend.currentRevision();
    const server = auth.server.addr;
    const id = await Bun.file(`${auth.dataDir}/admin/tls.crt`).text();
    const key = await Bun.file(`${auth.dataDir}/admin/tls.key`).text();
    const ca = await Bun.file(`${auth.dataDir}/admin/ca.crt`).text();
    const raw = await fetch(`https://${server}/v1/users`, {
      method: 'POST',
      body: '{"name": "x", roles:',
      tls: { cert: id, key, ca },
    } as RequestInit);
    expect(raw.status).toBe(400);
    expect(await raw.json()).toEqual({ error: { code: 'bad_parameter', message: 'request body is not valid JSON' } });
    const cases: [string, unknown, string][] = [
      ['/v1/users', { name: 'Bad Name', roles: ['access'] }, 'invalid request field "name"'],
      ['/v1/users', { name: 'ok', roles: ['access'], admin: true }, 'invalid request field "admin"'],
      ['/v1/users', { name: 'ok', roles: ['access'], password: 'short' }, 'password must be at least 12 characters'],
      [
        '/v1/roles',
        { role: { metadata: { name: 'r' }, spec: { allow: { logins: 'root' } } } },
        'invalid request field "role.spec.allow.logins"',
      ],
      ['/v1/tokens', { roles: ['node'], ttlMs: -5 }, 'ttl must be at least 1s'],
      ['/v1/locks', { target: {} }, 'a lock targets exactly one of --user, --node or --resource'],
      ['/v1/join', { token: 1 }, 'invalid request field "token"'],
    ];
    for (const [path, body, message] of cases) {
      const err = await failure(auth.admin.post(AckSchema, path, body));
      expect(err).toBeInstanceOf(BadParameter);
      expect(err.message).toContain(message);
    }
    const huge = await fetch(`https://${server}/v1/users`, {
      method: 'POST',
      body: 'x'.repeat(2 << 20),
      tls: { cert: id, key, ca },
    } as RequestInit);
    expect(huge.status).toBe(400);
    expect(await auth.server.backend.currentRevision()).toBe(before);
    expect((await auth.client.listUsers()).length).toBe(0);
  });
});
