import { describe, expect, test } from 'bun:test';
import { startLocalTunnel } from '../../core/client/localTunnel.ts';
import { AccessDenied } from '../../core/errors.ts';
import { run } from '../../test/helpers/cli.ts';
import client, { conninfo } from './client.ts';

const at = { host: '127.0.0.1', port: 5544, user: 'alice', database: 'shop' };

describe('db-postgres client side', () => {
  test('the connect hint is the psql command line the issue gives; odd values are quoted for libpq and the shell', () => {
    expect(client.connectHint(at)).toBe(`psql 'host=127.0.0.1 port=5544 user=alice dbname=shop sslmode=disable'`);
    expect(conninfo({ ...at, user: "o'neil x", database: undefined })).toBe(
      `host=127.0.0.1 port=5544 user='o\\'neil x' sslmode=disable`,
    );
  });

  test('tp db env gives the PG* variables libpq reads', () => {
    expect(client.env(at)).toEqual({
      PGHOST: '127.0.0.1',
      PGPORT: '5544',
      PGUSER: 'alice',
      PGDATABASE: 'shop',
      PGSSLMODE: 'disable',
    });
    expect(client.env({ ...at, database: undefined })).not.toHaveProperty('PGDATABASE');
  });

  test('stock psql shows why the tunnel refused its connection (an ErrorResponse, not a reset)', async () => {
    const tunnel = await startLocalTunnel({
      dial: () => Promise.reject(new AccessDenied('database user "alice" is not allowed by your roles')),
      refusal: client.refusal,
    });
    try {
      const { program, args } = client.command({ ...at, port: tunnel.port }, ['-Atc', 'select 1']);
      const r = await run([program, ...args], { env: { PGCONNECT_TIMEOUT: '10' } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('FATAL:  tp: database user "alice" is not allowed by your roles');
    } finally {
      await tunnel.close();
    }
  });
});
