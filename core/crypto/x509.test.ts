import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from './keys.ts';
import { createTlsCA, issueTlsCert, parseTlsCert, verifyTlsCert } from './x509.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-x509-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('X.509 CA', () => {
  test('openssl verify accepts a leaf, with tp identity intact', async () => {
    const now = Date.now();
    const ca = await createTlsCA('example', now);
    const holder = generateKeyPair('p256');
    const leaf = await issueTlsCert({
      ca,
      publicKey: holder.publicKey,
      subject: { commonName: 'alice', organization: ['dev'], identity: { kind: 'user', logins: ['alice', 'ops'] } },
      now,
      ttlMs: 3_600_000,
      usage: 'client',
    });
    writeFileSync(join(dir, 'ca.crt'), ca.cert);
    writeFileSync(join(dir, 'leaf.crt'), leaf);
    const r = Bun.spawnSync([
      'openssl',
      'verify',
      '-purpose',
      'sslclient',
      '-CAfile',
      join(dir, 'ca.crt'),
      join(dir, 'leaf.crt'),
    ]);
    expect(r.stdout.toString().trim()).toBe(`${join(dir, 'leaf.crt')}: OK`);
    const parsed = parseTlsCert(leaf);
    expect(parsed.commonName).toBe('alice');
    expect(parsed.organization).toEqual(['dev']);
    expect(parsed.identity.logins).toEqual(['alice', 'ops']);
    expect(await verifyTlsCert(leaf, [ca.cert], now)).toBe(true);
  });

  test('a leaf from a foreign CA or outside its window does not verify', async () => {
    const now = Date.now();
    const ca = await createTlsCA('example', now);
    const foreign = await createTlsCA('elsewhere', now);
    const leaf = await issueTlsCert({
      ca: foreign,
      publicKey: generateKeyPair('p256').publicKey,
      subject: { commonName: 'mallory', identity: { kind: 'user' } },
      now,
      ttlMs: 60_000,
      usage: 'client',
    });
    expect(await verifyTlsCert(leaf, [ca.cert], now)).toBe(false);
    expect(await verifyTlsCert(leaf, [foreign.cert], now + 3_600_000)).toBe(false);
    writeFileSync(join(dir, 'ca2.crt'), ca.cert);
    writeFileSync(join(dir, 'foreign.crt'), leaf);
    expect(
      Bun.spawnSync(['openssl', 'verify', '-CAfile', join(dir, 'ca2.crt'), join(dir, 'foreign.crt')]).exitCode,
    ).not.toBe(0);
  });

  test('refuses a non-P-256 holder key', async () => {
    const ca = await createTlsCA('example', Date.now());
    const ed = generateKeyPair('ed25519');
    await expect(
      issueTlsCert({
        ca,
        publicKey: ed.publicKey,
        subject: { commonName: 'x', identity: { kind: 'user' } },
        now: Date.now(),
        ttlMs: 1000,
        usage: 'client',
      }),
    ).rejects.toThrow('TLS public key must be ECDSA P-256');
  });
});
