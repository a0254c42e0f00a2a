import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckSchema } from '../../core/api/schemas.ts';
import { formatAuthorizedKey, generateKeyPair, sshPublicBlob } from '../../core/crypto/keys.ts';
import { signCert } from '../../core/crypto/sshcert.ts';
import { createTlsCA, issueTlsCert } from '../../core/crypto/x509.ts';
import { clientKeys, startTestAuth } from '../helpers/cluster.ts';
import type { Row } from './table.ts';

/** Runs `fn` `n` times with `concurrency` workers and returns operations per second. */
async function rate(n: number, concurrency: number, fn: (i: number) => Promise<unknown> | unknown): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/** Certificate signing: raw SSH and X.509 rates, ssh-keygen -s as the reference, and pairs/s through the auth API. */
export async function benchCerts(): Promise<Row[]> {
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-'));
  try {
    // Reference: ssh-keygen signing N user keys in one invocation (no per-process cost per cert).
    const n = 300;
    const caPath = join(dir, 'ca');
    Bun.spawnSync(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', caPath]);
    const keyFiles: string[] = [];
    for (let i = 0; i < n; i++) {
      const f = join(dir, `u${i}.pub`);
      writeFileSync(f, `${formatAuthorizedKey(sshPublicBlob(generateKeyPair('ed25519').publicKey))}\n`);
      keyFiles.push(f);
    }
    const t0 = performance.now();
    Bun.spawnSync(['ssh-keygen', '-q', '-s', caPath, '-I', 'bench', '-n', 'alice', '-V', '+1h', ...keyFiles]);
    const keygenRate = n / ((performance.now() - t0) / 1000);

    const ca = generateKeyPair('ed25519');
    const userBlob = sshPublicBlob(generateKeyPair('ed25519').publicKey);
    const now = BigInt(Math.floor(Date.now() / 1000));
    const sshRate = await rate(3000, 1, () =>
      signCert(
        {
          publicKey: userBlob,
          certType: 'user',
          keyId: 'alice',
          principals: ['alice'],
          validAfter: now,
          validBefore: now + 3600n,
        },
        ca.privateKey,
      ),
    );
    rows.push({
      figure: 'SSH user certs signed (in-process)',
      tp: sshRate,
      reference: keygenRate,
      referenceName: 'ssh-keygen -s',
      unit: '/s',
      higherIsBetter: true,
    });

    const tlsCa = await createTlsCA('bench', Date.now());
    const holder = generateKeyPair('p256').publicKey;
    const x509Rate = await rate(1000, 1, () =>
      issueTlsCert({
        ca: tlsCa,
        publicKey: holder,
        subject: { commonName: 'alice', organization: ['dev'], identity: { kind: 'user', logins: ['alice'] } },
        now: Date.now(),
        ttlMs: 3_600_000,
        usage: 'client',
      }),
    );
    rows.push({ figure: 'X.509 client certs signed (in-process)', tp: x509Rate, unit: '/s', higherIsBetter: true });

    await using auth = await startTestAuth();
    await auth.client.createUser({ name: 'alice', roles: ['access'] });
    const keys = clientKeys();
    const body = {
      username: 'alice',
      sshPublicKey: formatAuthorizedKey(sshPublicBlob(keys.ssh.publicKey)),
      tlsPublicKey: keys.tlsPublicKey,
    };
    await rate(50, 4, () => auth.admin.post(AckSchema, '/v1/certs/user', body));
    const apiRate = await rate(1000, 8, () => auth.admin.post(AckSchema, '/v1/certs/user', body));
    rows.push({
      figure: 'cert pairs (SSH + X.509) via auth API, mTLS, audited',
      tp: apiRate,
      reference: keygenRate,
      referenceName: 'ssh-keygen -s, SSH only',
      unit: '/s',
      higherIsBetter: true,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
