import { describe, expect, test } from 'bun:test';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { verifyIdToken } from './oidc.ts';

const ISSUER = 'https://idp.example.test';
const keys = await generateKeyPair('ES256');
const foreign = await generateKeyPair('ES256');
const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256' }] });
const now = Date.UTC(2026, 10, 28, 12);

async function token(o: { aud?: string; iss?: string; nonce?: string; exp?: number; key?: CryptoKey } = {}) {
  return new SignJWT({ nonce: o.nonce ?? 'n1' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(o.iss ?? ISSUER)
    .setSubject('olivia')
    .setAudience(o.aud ?? 'tp')
    .setIssuedAt(Math.floor(now / 1000) - 10)
    .setExpirationTime(o.exp ?? Math.floor(now / 1000) + 300)
    .sign(o.key ?? keys.privateKey);
}
const verify = async (t: string) => verifyIdToken(t, { jwks, issuer: ISSUER, audience: 'tp', nonce: 'n1', now });

describe('ID token verification', () => {
  test('a good token gives its claims', async () => {
    expect((await verify(await token())).sub).toBe('olivia');
  });
  test('expired (beyond 30 s of skew), wrong audience, wrong issuer, wrong nonce and a foreign key are refused', async () => {
    await expect(verify(await token({ exp: Math.floor(now / 1000) - 31 }))).rejects.toThrow('the ID token has expired');
    expect((await verify(await token({ exp: Math.floor(now / 1000) - 20 }))).sub).toBe('olivia');
    await expect(verify(await token({ aud: 'other' }))).rejects.toThrow('"aud" claim is wrong');
    await expect(verify(await token({ iss: 'https://evil.test' }))).rejects.toThrow('"iss" claim is wrong');
    await expect(verify(await token({ nonce: 'n2' }))).rejects.toThrow('nonce does not match');
    await expect(verify(await token({ key: foreign.privateKey }))).rejects.toThrow('signature does not verify');
  });
  test('a tampered payload does not verify', async () => {
    const [h, p, s] = (await token()).split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'root' })).toString('base64url');
    await expect(verify(`${h}.${forged}.${s}`)).rejects.toThrow('signature does not verify');
  });
});
