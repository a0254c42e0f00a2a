import { describe, expect, test } from 'bun:test';
import { startLocalTunnel } from '../../core/client/localTunnel.ts';
import { AccessDenied } from '../../core/errors.ts';
import { run } from '../../test/helpers/cli.ts';
import client from './client.ts';

const at = { host: '127.0.0.1', port: 4406, user: 'alice', database: 'shop' };

describe('db-mysql client side', () => {
  test('the connect hint is the mariadb command line the issue gives (TCP, no TLS to the tunnel)', () => {
    expect(client.connectHint(at)).toBe('mariadb -h 127.0.0.1 -P 4406 -u alice --protocol=TCP --skip-ssl shop');
    expect(client.connectHint({ ...at, user: "o'neil", database: undefined })).toBe(
      `mariadb -h 127.0.0.1 -P 4406 -u 'o'\\''neil' --protocol=TCP --skip-ssl`,
    );
  });

  test('tp db connect runs mariadb with the database as a flag, so the user arguments may follow', () => {
    expect(client.command(at, ['-e', 'select 1'])).toEqual({
      program: 'mariadb',
      args: [
        '-h',
        '127.0.0.1',
        '-P',
        '4406',
        '-u',
        'alice',
        '--protocol=TCP',
        '--skip-ssl',
        '--database=shop',
        '-e',
        'select 1',
      ],
    });
    expect(client.env(at)).toEqual({ MYSQL_HOST: '127.0.0.1', MYSQL_TCP_PORT: '4406' });
  });

  test('stock mariadb shows why the tunnel refused its connection (an ERR packet in place of the greeting)', async () => {
    const tunnel = await startLocalTunnel({
      dial: () => Promise.reject(new AccessDenied('database user "alice" is not allowed by your roles')),
      refusal: client.refusal,
    });
    try {
      const { program, args } = client.command({ ...at, port: tunnel.port }, ['-e', 'select 1']);
      const r = await run([program, ...args, '--connect-timeout=10']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('ERROR 1045 (28000): tp: database user "alice" is not allowed by your roles');
    } finally {
      await tunnel.close();
    }
  });
});
