import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AuthClient } from '../../core/api/authClient.ts';
import { generateKeyPair } from '../../core/crypto/keys.ts';
import { pemBundle } from '../../core/crypto/pem.ts';
import { durationArg } from './context.ts';
import { type Format, print } from './output.ts';

/** Default lifetime of a database server certificate (90 days). */
const DB_SERVER_TTL_MS = 2160 * 3_600_000;

/**
 * `tp ca sign --db --host NAME --out DIR`: makes the database server's key here, has the db CA certify it for NAME,
 * and writes DIR/server.crt, DIR/server.key (0600) and DIR/ca.crt (the db_client CA the server trusts for clients).
 */
export async function signDbServer(
  auth: AuthClient,
  o: { host: string; ttl?: string; out: string; format: Format },
): Promise<void> {
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const key = generateKeyPair('p256');
  const r = await auth.signDbServer({
    hostName: o.host,
    tlsPublicKey: key.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    ttlMs: durationArg('ttl', o.ttl) ?? DB_SERVER_TTL_MS,
  });
  const write = (name: string, data: string, mode: number) => {
    writeFileSync(join(out, name), data, { mode });
    chmodSync(join(out, name), mode);
  };
  write('server.key', key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  write('server.crt', r.cert, 0o644);
  write('ca.crt', pemBundle(r.clientCa), 0o644);
  await print(
    o.format,
    'ca sign',
    { kind: 'db', host: o.host, expires: new Date(r.expires).toISOString(), dir: out },
    () =>
      `wrote server.crt, server.key and ca.crt to ${out} (database server ${o.host}, expires ${r.expires})\n` +
      `PostgreSQL: ssl_cert_file = '${join(out, 'server.crt')}', ssl_key_file = '${join(out, 'server.key')}', ` +
      `ssl_ca_file = '${join(out, 'ca.crt')}' (and hostssl ... cert in pg_hba.conf)\n` +
      `MariaDB: ssl-cert=${join(out, 'server.crt')} ssl-key=${join(out, 'server.key')} ssl-ca=${join(out, 'ca.crt')}`,
  );
}
