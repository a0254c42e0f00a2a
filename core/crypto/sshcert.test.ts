import { afterAll, describe, expect, test } from 'bun:test';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeOpenSSHPrivateKey,
  formatAuthorizedKey,
  generateKeyPair,
  parseAuthorizedKey,
  parseOpenSSHPrivateKey,
  sshPublicBlob,
} from './keys.ts';
import { CertRejected, formatCert, parseCert, signCert, verifyCert } from './sshcert.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-sshcert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sh = (cmd: string[]) => {
  const r = Bun.spawnSync(cmd, { stderr: 'pipe' });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout.toString();
};

const now = Math.floor(Date.now() / 1000);
const ca = generateKeyPair('ed25519');
const caBlob = sshPublicBlob(ca.publicKey);

function userCert(extra: Partial<Parameters<typeof signCert>[0]> = {}) {
  const user = generateKeyPair('ed25519');
  const blob = signCert(
    {
      publicKey: sshPublicBlob(user.publicKey),
      certType: 'user',
      keyId: 'alice',
      principals: ['alice', 'deploy'],
      validAfter: BigInt(now - 60),
      validBefore: BigInt(now + 3600),
      extensions: { 'permit-pty': '', 'permit-agent-forwarding': '', 'tp-roles@tp': '["dev"]' },
      ...extra,
    },
    ca.privateKey,
  );
  return { user, blob };
}

describe('OpenSSH certificates', () => {
  test('ssh-keygen -L reads a tp user certificate', () => {
    const { blob } = userCert();
    const path = join(dir, 'user-cert.pub');
    writeFileSync(path, formatCert(blob));
    const out = sh(['ssh-keygen', '-L', '-f', path]);
    expect(out).toContain('ssh-ed25519-cert-v01@openssh.com user certificate');
    expect(out).toContain('Key ID: "alice"');
    expect(out).toMatch(/Principals:\s+alice\s+deploy/);
    expect(out).toContain('permit-pty');
    expect(out).toContain('tp-roles@tp');
  });

  test('ssh-keygen -L reads a tp host certificate signed by an ECDSA CA', () => {
    const host = generateKeyPair('p256');
    const ecCa = generateKeyPair('p256');
    const blob = signCert(
      {
        publicKey: sshPublicBlob(host.publicKey),
        certType: 'host',
        keyId: 'node-1',
        principals: ['node-1', 'localhost'],
        validAfter: 0n,
        validBefore: BigInt(now + 86400),
      },
      ecCa.privateKey,
    );
    const path = join(dir, 'host-cert.pub');
    writeFileSync(path, formatCert(blob));
    expect(sh(['ssh-keygen', '-L', '-f', path])).toContain('ecdsa-sha2-nistp256-cert-v01@openssh.com host certificate');
    verifyCert(parseCert(blob), { cas: [sshPublicBlob(ecCa.publicKey)], certType: 'host', now, principal: 'node-1' });
  });

  for (const kind of ['ed25519', 'ecdsa'] as const) {
    test(`tp verifies a certificate made by ssh-keygen -s (${kind} CA)`, () => {
      const caPath = join(dir, `ca-${kind}`);
      const keyPath = join(dir, `k-${kind}`);
      sh(['ssh-keygen', '-q', '-t', kind, '-N', '', '-f', caPath]);
      sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', keyPath]);
      sh([
        'ssh-keygen',
        '-q',
        '-s',
        caPath,
        '-I',
        'bob-id',
        '-n',
        'bob,root',
        '-V',
        '-5m:+1h',
        '-O',
        'source-address=127.0.0.1/32',
        `${keyPath}.pub`,
      ]);
      const cert = parseCert(readFileSync(`${keyPath}-cert.pub`, 'utf8'));
      const trusted = parseAuthorizedKey(readFileSync(`${caPath}.pub`, 'utf8')).blob;
      const ok = verifyCert(cert, {
        cas: [trusted],
        certType: 'user',
        now,
        principal: 'bob',
        knownCriticalOptions: ['source-address'],
      });
      expect(ok.keyId).toBe('bob-id');
      expect(ok.criticalOptions['source-address']).toBe('127.0.0.1/32');
      expect(ok.publicKey.equals(parseAuthorizedKey(readFileSync(`${keyPath}.pub`, 'utf8')).blob)).toBe(true);
      expect(() => verifyCert(cert, { cas: [trusted], certType: 'user', now, principal: 'bob' })).toThrow(
        'unsupported critical option "source-address"',
      );
    });
  }

  const rejects = (fn: () => unknown, reason: CertRejected['reason']) => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(CertRejected);
      expect((err as CertRejected).reason).toBe(reason);
      return;
    }
    throw new Error(`expected rejection "${reason}"`);
  };

  test('refuses a tampered certificate', () => {
    const { blob } = userCert();
    const bad = Buffer.from(blob);
    const at = bad.indexOf(Buffer.from('alice'));
    bad[at] = 'm'.charCodeAt(0);
    rejects(
      () => verifyCert(parseCert(bad), { cas: [caBlob], certType: 'user', now, principal: 'alice' }),
      'bad_signature',
    );
  });

  test('refuses a certificate from a foreign CA', () => {
    const foreign = generateKeyPair('ed25519');
    const { blob } = userCert();
    rejects(
      () => verifyCert(parseCert(blob), { cas: [sshPublicBlob(foreign.publicKey)], certType: 'user', now }),
      'untrusted_ca',
    );
  });

  test('refuses expired, not-yet-valid, wrong principal and wrong type', () => {
    const { blob } = userCert();
    const cert = parseCert(blob);
    rejects(() => verifyCert(cert, { cas: [caBlob], certType: 'user', now: now + 3600 + 61 }), 'expired');
    rejects(() => verifyCert(cert, { cas: [caBlob], certType: 'user', now: now - 200 }), 'not_yet_valid');
    rejects(() => verifyCert(cert, { cas: [caBlob], certType: 'user', now, principal: 'root' }), 'wrong_principal');
    rejects(() => verifyCert(cert, { cas: [caBlob], certType: 'host', now }), 'wrong_type');
    // Skew is 10 s either side (CLOCK_SKEW_MS): 5 s past expiry passes, 30 s past is refused.
    expect(verifyCert(cert, { cas: [caBlob], certType: 'user', now: now + 3600 + 5 }).keyId).toBe('alice');
    rejects(() => verifyCert(cert, { cas: [caBlob], certType: 'user', now: now + 3600 + 30 }), 'expired');
    rejects(() => verifyCert(cert, { cas: [caBlob], certType: 'user', now: now - 60 - 30 }), 'not_yet_valid');
    expect(verifyCert(cert, { cas: [caBlob], certType: 'user', now: now - 60 - 5 }).keyId).toBe('alice');
  });

  test('refuses truncated input as malformed', () => {
    const { blob } = userCert();
    rejects(() => parseCert(blob.subarray(0, 100)), 'malformed');
    rejects(() => parseCert('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGl'), 'malformed');
  });
});

describe('OpenSSH private keys', () => {
  for (const kind of ['ed25519', 'p256'] as const) {
    test(`ssh-keygen reads a tp ${kind} private key and we read it back`, () => {
      const kp = generateKeyPair(kind);
      const path = join(dir, `priv-${kind}`);
      writeFileSync(path, encodeOpenSSHPrivateKey(kp.privateKey, 'tp-test'));
      chmodSync(path, 0o600);
      const pub = sh(['ssh-keygen', '-y', '-f', path]).trim();
      expect(pub.split(' ').slice(0, 2).join(' ')).toBe(formatAuthorizedKey(sshPublicBlob(kp.publicKey)));
      const back = parseOpenSSHPrivateKey(readFileSync(path, 'utf8'));
      expect(sshPublicBlob(back).equals(sshPublicBlob(kp.publicKey))).toBe(true);
    });
  }

  test('we read a key made by ssh-keygen', () => {
    const path = join(dir, 'made-by-keygen');
    sh(['ssh-keygen', '-q', '-t', 'ecdsa', '-N', '', '-f', path]);
    const key = parseOpenSSHPrivateKey(readFileSync(path, 'utf8'));
    expect(formatAuthorizedKey(sshPublicBlob(key))).toBe(
      readFileSync(`${path}.pub`, 'utf8').split(' ').slice(0, 2).join(' '),
    );
  });
});
