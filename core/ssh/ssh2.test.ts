import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'ssh2';
import { SSHD, ssh, startSshd } from '../../test/helpers/sshd.ts';
import { localUsername } from '../client/localUser.ts';
import { encodeOpenSSHPrivateKey, formatAuthorizedKey, generateKeyPair, sshPublicBlob } from '../crypto/keys.ts';
import { formatCert, signCert } from '../crypto/sshcert.ts';
import { hostCertVerifier } from './hostCert.ts';
import { CLIENT_HOST_KEY_ALGOS, certKey, ssh2 } from './ssh2.ts';
import { verifyUserAuth } from './userCert.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-ssh2-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const me = localUsername();
const now = BigInt(Math.floor(Date.now() / 1000));
const hostCa = generateKeyPair('ed25519');
const userCa = generateKeyPair('ed25519');

function issue(kind: 'user' | 'host', principals: string[], keyType: 'ed25519' | 'p256' = 'ed25519') {
  const key = generateKeyPair(keyType);
  const cert = formatCert(
    signCert(
      {
        publicKey: sshPublicBlob(key.publicKey),
        certType: kind,
        keyId: principals[0]!,
        principals,
        validAfter: now - 60n,
        validBefore: now + 3600n,
        extensions: kind === 'user' ? { 'permit-pty': '' } : {},
      },
      (kind === 'user' ? userCa : hostCa).privateKey,
    ),
  );
  return { pem: encodeOpenSSHPrivateKey(key.privateKey), cert };
}

describe('ssh2 with certificates (patched) against stock OpenSSH', () => {
  test('start-up check: the patch is applied', () => {
    expect(ssh2().Server).toBeFunction();
  });

  for (const keyType of ['ed25519', 'p256'] as const) {
    test(`ssh → ssh2 server: host cert (${keyType}) accepted via @cert-authority, user cert verified by tp`, async () => {
      const host = issue('host', ['localhost', '127.0.0.1'], keyType);
      const seen: string[] = [];
      const server = new (ssh2().Server)(
        { hostKeys: [{ key: certKey(host.pem, host.cert) } as never] },
        (conn: Connection) => {
          conn.on('authentication', (ctx) => {
            if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
            try {
              const v = verifyUserAuth(ctx as never, {
                cas: [sshPublicBlob(userCa.publicKey)],
                now: Date.now(),
                remoteIp: '127.0.0.1',
              });
              seen.push(`${v.username}:${v.queryOnly ? 'query' : 'signed'}`);
              ctx.accept();
            } catch (err) {
              seen.push(`rejected:${(err as Error).message}`);
              ctx.reject(['publickey']);
            }
          });
          conn.on('session', (accept) => {
            accept().on('exec', (acc, _rej, info) => {
              const ch = acc();
              ch.write(`ran ${info.command}\n`);
              ch.exit(3);
              ch.end();
            });
          });
        },
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const port = (server.address() as { port: number }).port;
      const user = issue('user', [me]);
      writeFileSync(join(dir, `id-${keyType}`), user.pem, { mode: 0o600 });
      writeFileSync(join(dir, `id-${keyType}-cert.pub`), user.cert);
      writeFileSync(join(dir, 'kh'), `@cert-authority * ${formatAuthorizedKey(sshPublicBlob(hostCa.publicKey))}\n`);
      const r = await ssh([
        '-i',
        join(dir, `id-${keyType}`),
        '-o',
        `UserKnownHostsFile=${join(dir, 'kh')}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-p',
        String(port),
        `${me}@127.0.0.1`,
        'hello',
      ]);
      server.close();
      expect(r.stderr).not.toContain('Permission denied');
      expect(r.stdout).toBe('ran hello\n');
      expect(r.code).toBe(3);
      expect(seen).toEqual([
        'rejected:plain public keys are not accepted; log in with `tp login` to get a certificate',
        `${me}:query`,
        `${me}:signed`,
      ]);
    });
  }

  test.skipIf(!SSHD)(
    'ssh2 client → sshd: user cert accepted by TrustedUserCAKeys, host cert checked by tp',
    async () => {
      const caFile = join(dir, 'user_ca.pub');
      writeFileSync(caFile, `${formatAuthorizedKey(sshPublicBlob(userCa.publicKey))}\n`);
      const host = issue('host', ['localhost', '127.0.0.1']);
      writeFileSync(join(dir, 'hostkey'), host.pem, { mode: 0o600 });
      writeFileSync(join(dir, 'hostkey-cert.pub'), host.cert);
      await using sshd = await startSshd([
        `TrustedUserCAKeys ${caFile}`,
        `HostKey ${join(dir, 'hostkey')}`,
        `HostCertificate ${join(dir, 'hostkey-cert.pub')}`,
      ]);
      const run = (principal: string, user = issue('user', [me])) =>
        new Promise<string>((resolve, reject) => {
          const rejections: string[] = [];
          const c = new (ssh2().Client)();
          c.on('ready', () => {
            c.exec('echo via-ssh2', (err, stream) => {
              if (err) return reject(err);
              let out = '';
              stream.on('data', (d: Buffer) => {
                out += d;
              });
              stream.on('close', () => {
                c.end();
                resolve(out);
              });
            });
          });
          c.on('error', (err) => reject(new Error(`${err.message} ${rejections.join(';')} ${sshd.log()}`)));
          c.connect({
            host: '127.0.0.1',
            port: sshd.port,
            username: me,
            authHandler: [{ type: 'publickey', username: me, key: certKey(user.pem, user.cert) }] as never,
            algorithms: { serverHostKey: CLIENT_HOST_KEY_ALGOS as never },
            hostVerifier: hostCertVerifier([sshPublicBlob(hostCa.publicKey)], principal, Date.now, (r) =>
              rejections.push(r),
            ),
          });
        });
      expect(await run('127.0.0.1')).toBe('via-ssh2\n');
      await expect(run('other-host')).rejects.toThrow('"other-host" is not a principal');
      await expect(run('127.0.0.1', issue('user', ['somebody-else']))).rejects.toThrow(
        'All configured authentication methods failed',
      );
    },
  );
});
