import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

/** How the stand-in misbehaves on its next ID token. */
export type IdTokenFault = 'none' | 'expired' | 'wrong-audience' | 'wrong-nonce' | 'foreign-key';

/** A minimal OpenID Provider that signs in at once and can issue faulty ID tokens, for the refusal tests. */
export interface OidcStandIn extends AsyncDisposable {
  issuer: string;
  fault: IdTokenFault;
  close(): Promise<void>;
}

/** Starts the stand-in: discovery, keys, an authorize endpoint that redirects straight back, a token endpoint. */
export async function startOidcStandIn(o: {
  clientId: string;
  clientSecret: string;
  subject: string;
}): Promise<OidcStandIn> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const foreign = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const codes = new Map<string, { nonce: string }>();
  const self: OidcStandIn = {
    issuer: '',
    fault: 'none',
    close: async () => server.stop(true),
    [Symbol.asyncDispose]: async () => server.stop(true),
  };
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === '/.well-known/openid-configuration')
        return Response.json({
          issuer: self.issuer,
          authorization_endpoint: `${self.issuer}/authorize`,
          token_endpoint: `${self.issuer}/token`,
          jwks_uri: `${self.issuer}/jwks`,
          token_endpoint_auth_methods_supported: ['client_secret_basic'],
        });
      if (url.pathname === '/jwks') return Response.json({ keys: [jwk] });
      if (url.pathname === '/authorize') {
        const code = randomBytes(8).toString('hex');
        codes.set(code, { nonce: url.searchParams.get('nonce') ?? '' });
        const to = new URL(url.searchParams.get('redirect_uri') ?? '');
        to.searchParams.set('code', code);
        to.searchParams.set('state', url.searchParams.get('state') ?? '');
        return new Response(null, { status: 302, headers: { location: to.toString() } });
      }
      if (url.pathname === '/token' && req.method === 'POST') {
        const basic = Buffer.from(`${o.clientId}:${o.clientSecret}`).toString('base64');
        if (req.headers.get('authorization') !== `Basic ${basic}`)
          return Response.json({ error: 'invalid_client' }, { status: 401 });
        const code = new URLSearchParams(await req.text()).get('code') ?? '';
        const c = codes.get(code);
        codes.delete(code);
        if (!c) return Response.json({ error: 'invalid_grant' }, { status: 400 });
        const now = Math.floor(Date.now() / 1000);
        const f = self.fault;
        const token = await new SignJWT({
          nonce: f === 'wrong-nonce' ? 'not-the-nonce' : c.nonce,
          preferred_username: o.subject,
          groups: ['devs'],
        })
          .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
          .setIssuer(self.issuer)
          .setSubject(o.subject)
          .setAudience(f === 'wrong-audience' ? 'someone-else' : o.clientId)
          .setIssuedAt(f === 'expired' ? now - 7200 : now)
          .setExpirationTime(f === 'expired' ? now - 3600 : now + 300)
          .sign(f === 'foreign-key' ? foreign.privateKey : privateKey);
        return Response.json({ access_token: 'at', token_type: 'Bearer', id_token: token });
      }
      return new Response('not found', { status: 404 });
    },
  });
  self.issuer = `http://127.0.0.1:${server.port}`;
  return self;
}
