// The client side of the plugins' default framing (core/client/pluginDial.ts) and the local tunnel
// (core/client/localTunnel.ts), driven by stock psql against a stand-in proxy that speaks the README's framing and
// forwards to a real PostgreSQL. The real proxy and agent path is test/dbCli.e2e.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { connect } from 'node:net';
import { startLocalTunnel } from '../core/client/localTunnel.ts';
import { dialPlugin } from '../core/client/pluginDial.ts';
import type { Profile } from '../core/client/profile.ts';
import { createTlsCA } from '../core/crypto/x509.ts';
import { AccessDenied, BadParameter, exitCodeOf, NotFound, Unauthenticated, Unavailable } from '../core/errors.ts';
import pgClient from '../plugins/db-postgres/client.ts';
import { run } from './helpers/cli.ts';
import { type DbStandInProxy, startDbStandInProxy } from './helpers/dbStandInProxy.ts';
import { type PgRecorder, startPostgresRecorder } from './helpers/postgresRecorder.ts';
import { type PostgresServer, postgresMissing, startPostgresServer } from './helpers/postgresServer.ts';

const ALPN = 'tp-db-postgres';

/** Runs stock psql against the tunnel (asynchronously: the tunnel lives in this process). */
function psql(port: number, user: string, sql: string) {
  const { program, args } = pgClient.command({ host: '127.0.0.1', port, user, database: 'postgres' }, ['-Atc', sql]);
  return run([program, ...args], { env: { PGCONNECT_TIMEOUT: '10' } });
}

describe.skipIf(!!postgresMissing)('db tunnel through the default framing (stand-in proxy, real PostgreSQL)', () => {
  let pg: PostgresServer;
  let recorder: PgRecorder;
  let proxy: DbStandInProxy;
  let alice: Profile;

  beforeAll(async () => {
    pg = await startPostgresServer({ users: ['alice'] });
    recorder = await startPostgresRecorder(pg, await pg.clientCert('alice'));
    proxy = await startDbStandInProxy({ pg1: { port: recorder.port, principals: ['alice'] } });
    alice = await proxy.profile('alice');
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await recorder?.close();
    await pg?.close();
  });

  const tunnelFor = (p: Profile, principal: string, extra: { maxConnections?: number; port?: number } = {}) =>
    startLocalTunnel({
      ...extra,
      dial: async () =>
        (await dialPlugin(p, { alpn: ALPN, target: 'pg1', principal, route: { db_user: principal } })).sock,
      refusal: pgClient.refusal,
    });

  test('stock psql through the tunnel reaches the database; the proxy saw one route line under the user cert', async () => {
    const tunnel = await tunnelFor(alice, 'alice');
    try {
      const before = proxy.seen.length;
      const r = await psql(tunnel.port, 'alice', 'select current_user');
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('alice');
      expect(proxy.seen.slice(before)).toEqual([
        {
          commonName: 'alice',
          alpn: ALPN,
          line: { v: 1, target: 'pg1', principal: 'alice', route: { db_user: 'alice' } },
        },
      ]);
    } finally {
      await tunnel.close();
    }
  });

  test('a refusal by the proxy is its typed error (exit code 5), and psql shows its message', async () => {
    const err = await dialPlugin(alice, { alpn: ALPN, target: 'pg1', principal: 'mallory' }).catch((e) => e);
    expect(err).toBeInstanceOf(AccessDenied);
    expect(err.message).toBe('database user "mallory" is not allowed by your roles');
    expect(exitCodeOf(err)).toBe(5);
    const missing = await dialPlugin(alice, { alpn: ALPN, target: 'nope', principal: 'alice' }).catch((e) => e);
    expect(missing).toBeInstanceOf(NotFound);
    expect(exitCodeOf(missing)).toBe(3);

    const errors: string[] = [];
    const tunnel = await startLocalTunnel({
      dial: async () => (await dialPlugin(alice, { alpn: ALPN, target: 'pg1', principal: 'mallory' })).sock,
      refusal: pgClient.refusal,
      onError: (e) => errors.push(e.message),
    });
    try {
      const r = await psql(tunnel.port, 'mallory', 'select 1');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('FATAL:  tp: database user "mallory" is not allowed by your roles');
      expect(errors).toEqual(['database user "mallory" is not allowed by your roles']);
    } finally {
      await tunnel.close();
    }
  });

  test('a certificate from a foreign CA is refused at the TLS handshake, as a login problem (exit 6)', async () => {
    const foreign = await proxy.profile('alice', await createTlsCA('foreign', Date.now()));
    const err = await dialPlugin(foreign, { alpn: ALPN, target: 'pg1', principal: 'alice' }).catch((e) => e);
    expect(err).toBeInstanceOf(Unauthenticated);
    expect(err.message).toContain(`the proxy at ${proxy.addr} refused your certificate`);
    expect(exitCodeOf(err)).toBe(6);
  });

  test('a proxy that does not serve the plugin ALPN id says so (exit 8)', async () => {
    const err = await dialPlugin(alice, { alpn: 'tp-db-other', target: 'pg1' }).catch((e) => e);
    expect(err).toBeInstanceOf(Unavailable);
    expect(err.message).toContain('does not serve tp-db-other');
    expect(exitCodeOf(err)).toBe(8);
  });

  test('the tunnel carries at most maxConnections at once and close() ends the ones it carries', async () => {
    const tunnel = await tunnelFor(alice, 'alice', { maxConnections: 1 });
    try {
      const first = connect(tunnel.port, '127.0.0.1');
      const closed = new Promise<void>((r) => first.once('close', () => r()));
      first.on('error', () => first.destroy());
      await pollUntil(() => tunnel.active() === 1);
      const r = await psql(tunnel.port, 'alice', 'select 1');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('too many connections through this tunnel (at most 1)');
      await tunnel.close();
      await closed;
      expect(tunnel.active()).toBe(0);
    } finally {
      await tunnel.close();
    }
  });

  test('a busy port is a clear usage error naming --port', async () => {
    const tunnel = await tunnelFor(alice, 'alice');
    try {
      const err = await tunnelFor(alice, 'alice', { port: tunnel.port }).catch((e) => e);
      expect(err).toBeInstanceOf(BadParameter);
      expect(err.message).toBe(`port ${tunnel.port} on 127.0.0.1 is in use: pick another with --port`);
    } finally {
      await tunnel.close();
    }
  });
});

async function pollUntil(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await Bun.sleep(10);
  }
}
