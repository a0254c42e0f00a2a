import { expect, test } from 'bun:test';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Profile, refreshTrust } from './profile.ts';

/** A throwaway self-signed CA certificate from OpenSSL, without the trailing newline (as auth stores CAs). */
function ca(dir: string, name: string): string {
  const r = Bun.spawnSync(
    [
      'openssl',
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      join(dir, `${name}.key`),
      '-out',
      join(dir, `${name}.pem`),
    ],
    { stderr: 'pipe' },
  );
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return readFileSync(join(dir, `${name}.pem`), 'utf8').trim();
}

test('during a TLS CA rotation the trusted bundle holds both CAs as OpenSSL reads them (one per PEM block)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-trust-'));
  const p = { casPath: join(dir, 'cas.pem'), knownHostsPath: join(dir, 'known_hosts') } as Profile;
  expect(refreshTrust(p, ['ssh-ed25519 AAAA old'], [ca(dir, 'old'), ca(dir, 'new')])).toBe(true);
  const text = readFileSync(p.casPath, 'utf8');
  expect(text).not.toContain('-----END CERTIFICATE----------BEGIN');
  const read = Bun.spawnSync(['openssl', 'storeutl', '-noout', '-certs', p.casPath], { stderr: 'pipe' });
  expect(read.stdout.toString()).toContain('Total found: 2');
});
