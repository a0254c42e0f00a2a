import { describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import * as peculiar from '@peculiar/x509';
import { BadParameter } from '../errors.ts';
import { parseTlsCert, verifyTlsCert } from './certRead.ts';
import { generateKeyPair } from './keys.ts';
import { createTlsCA, issueTlsCert } from './x509.ts';

const now = Date.parse('2026-12-02T00:00:00Z');

/** What @peculiar/x509 (the reference reader) says about a certificate, in parseTlsCert's terms. */
function reference(pem: string) {
  const c = new peculiar.X509Certificate(pem);
  return {
    commonName: c.subjectName.getField('CN')[0] ?? '',
    organization: c.subjectName.getField('O'),
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    serial: c.serialNumber,
  };
}

describe('certRead: certificates read without the issuing library', () => {
  test("tp's own leaves read as the reference reader reads them, with the identity extension", async () => {
    const ca = await createTlsCA('read.test', now);
    const identity = {
      kind: 'user' as const,
      traits: { logins: ['ops', 'é✓'] },
      bot: { name: 'ci', instance: 'i-1', generation: 3 },
    };
    const pem = await issueTlsCert({
      ca,
      publicKey: generateKeyPair('p256').publicKey,
      subject: { commonName: 'alice', organization: ['dev', 'ops'], identity },
      now,
      ttlMs: 3_600_000,
      usage: 'client',
    });
    const got = parseTlsCert(pem);
    expect(got).toEqual({ ...reference(pem), identity });
    // DER bytes (what a TLS peer presents) read the same as the PEM.
    expect(parseTlsCert(Buffer.from(new peculiar.X509Certificate(pem).rawData))).toEqual(got);
  });

  test('a certificate made by openssl (PrintableString names, no tp extension) reads as a plain user', () => {
    const dir = mkdtempSync(join(tmpdir(), 'certread-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=db.example/O=Acme/O=Ops',
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(dir, 'c.pem'),
      ],
      { stdio: 'ignore' },
    );
    const pem = readFileSync(join(dir, 'c.pem'), 'utf8');
    expect(parseTlsCert(pem)).toEqual({ ...reference(pem), identity: { kind: 'user' } });
    expect(parseTlsCert(pem).organization).toEqual(['Acme', 'Ops']);
  });

  test('truncated or foreign bytes are a BadParameter, not a crash', () => {
    expect(() => parseTlsCert('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')).toThrow(BadParameter);
    expect(() => parseTlsCert(Buffer.from([0x30, 0x82, 0xff, 0xff, 0x30]))).toThrow(BadParameter);
    expect(() => parseTlsCert(Buffer.from([0x30]))).toThrow(BadParameter);
  });

  test('verifies the signature against the CAs and the validity window at the given time', async () => {
    const ca = await createTlsCA('read.test', now);
    const other = await createTlsCA('other.test', now);
    const pem = await issueTlsCert({
      ca,
      publicKey: generateKeyPair('p256').publicKey,
      subject: { commonName: 'bob', identity: { kind: 'user' } },
      now,
      ttlMs: 60_000,
      usage: 'client',
    });
    expect(await verifyTlsCert(pem, [other.cert, ca.cert], now + 1_000)).toBe(true);
    expect(await verifyTlsCert(pem, [other.cert], now + 1_000)).toBe(false);
    expect(await verifyTlsCert(pem, [ca.cert], now + 3_600_000)).toBe(false); // expired
    expect(await verifyTlsCert(pem, [ca.cert], now - 3_600_000)).toBe(false); // not yet valid
  });
});
