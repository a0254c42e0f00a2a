import { describe, expect, test } from 'bun:test';
import { generateKeyPair, sshPublicBlob } from '../crypto/keys.ts';
import { CertRejected, signCert } from '../crypto/sshcert.ts';
import { signSsh } from '../crypto/sshsig.ts';
import { sourceAllowed, verifyUserAuth } from './userCert.ts';

const ca = generateKeyPair('ed25519');
const cas = [sshPublicBlob(ca.publicKey)];
const now = Date.now();

function attempt(criticalOptions: Record<string, string> = {}, signWith?: ReturnType<typeof generateKeyPair>) {
  const user = generateKeyPair('ed25519');
  const cert = signCert(
    {
      publicKey: sshPublicBlob(user.publicKey),
      certType: 'user',
      keyId: 'alice',
      principals: ['alice'],
      validAfter: BigInt(Math.floor(now / 1000) - 60),
      validBefore: BigInt(Math.floor(now / 1000) + 600),
      criticalOptions,
      extensions: { 'tp-roles@tp': '["dev"]' },
    },
    ca.privateKey,
  );
  const blob = Buffer.from('session-id and request bytes');
  return {
    username: 'alice',
    key: { algo: 'ssh-ed25519-cert-v01@openssh.com', data: cert },
    blob,
    signature: signSsh((signWith ?? user).privateKey, blob),
  };
}

const reason = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof CertRejected) return err.reason;
    throw err;
  }
  return 'accepted';
};

describe('node-side user certificate auth', () => {
  test('source-address matches IPv4, IPv6 and mapped addresses', () => {
    expect(sourceAllowed('127.0.0.0/8,::1', '127.0.0.9')).toBe(true);
    expect(sourceAllowed('127.0.0.0/8,::1', '::ffff:127.0.0.9')).toBe(true);
    expect(sourceAllowed('127.0.0.0/8,::1', '::1')).toBe(true);
    expect(sourceAllowed('10.1.2.3', '10.1.2.4')).toBe(false);
  });

  test('a certificate pinned to another source address is refused', () => {
    const a = attempt({ 'source-address': '10.0.0.0/8' });
    expect(reason(() => verifyUserAuth(a, { cas, now, remoteIp: '127.0.0.1' }))).toBe('source_address');
    expect(reason(() => verifyUserAuth(a, { cas, now, remoteIp: '10.9.8.7' }))).toBe('accepted');
  });

  test('a signature by another key than the certified one is refused', () => {
    const a = attempt({}, generateKeyPair('ed25519'));
    expect(reason(() => verifyUserAuth(a, { cas, now, remoteIp: '127.0.0.1' }))).toBe('bad_signature');
  });

  test('roles come from the certificate; the query round is marked as such', () => {
    const a = attempt();
    const v = verifyUserAuth({ ...a, signature: undefined }, { cas, now, remoteIp: '127.0.0.1' });
    expect(v).toMatchObject({ username: 'alice', roles: ['dev'], queryOnly: true });
  });

  test('unknown critical options and plain keys are refused', () => {
    expect(
      reason(() => verifyUserAuth(attempt({ 'force-command': '/bin/true' }), { cas, now, remoteIp: '127.0.0.1' })),
    ).toBe('unknown_critical_option');
    const plain = {
      ...attempt(),
      key: { algo: 'ssh-ed25519', data: sshPublicBlob(generateKeyPair('ed25519').publicKey) },
    };
    expect(reason(() => verifyUserAuth(plain, { cas, now, remoteIp: '127.0.0.1' }))).toBe('malformed');
  });
});
