import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

/** What a minted token gets wrong, for the refusal tests. */
export interface MintFaults {
  /** Seconds relative to now for exp (default +300). */
  expIn?: number;
  /** Seconds relative to now for nbf (default -5). */
  nbfIn?: number;
  audience?: string;
  issuer?: string;
  /** Sign with a key the issuer never published. */
  foreignKey?: boolean;
}

/** A CI platform's OIDC issuer on loopback (shaped like GitHub Actions'): discovery, JWKS and the job's token endpoint. */
export interface CiIssuer extends AsyncDisposable {
  issuer: string;
  /** The published key set (for a static --jwks-file). */
  jwks: string;
  /** Env a job sees with `permissions: id-token: write`: the token request URL and its bearer. */
  actionsEnv(claims: Record<string, unknown>, faults?: MintFaults): Record<string, string>;
  mint(claims: Record<string, unknown>, audience: string, faults?: MintFaults): Promise<string>;
  /** How many ID tokens the job endpoint handed out, and the audiences asked for. */
  requests: string[];
  close(): Promise<void>;
}

/** GitHub Actions-like claims for `repo` on `ref`. */
export function githubClaims(repo: string, ref: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: `repo:${repo}:ref:${ref}`,
    repository: repo,
    repository_owner: repo.split('/')[0],
    ref,
    ref_type: 'branch',
    workflow: 'deploy',
    actor: 'octocat',
    environment: 'production',
    ...extra,
  };
}

/** Starts the issuer; RS256 keys come from WebCrypto (jose), one published and one foreign. */
export async function startCiIssuer(): Promise<CiIssuer> {
  const key = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(key.publicKey)), kid: 'ci-1', alg: 'RS256', use: 'sig' };
  const jobs = new Map<string, { claims: Record<string, unknown>; faults: MintFaults }>();
  let n = 0;
  const self: CiIssuer = {
    issuer: '',
    jwks: JSON.stringify({ keys: [jwk] }),
    requests: [],
    actionsEnv(claims, faults = {}) {
      const bearer = `job-${++n}`;
      jobs.set(bearer, { claims, faults });
      return {
        ACTIONS_ID_TOKEN_REQUEST_URL: `${self.issuer}/actions/token?api-version=2.0`,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: bearer,
      };
    },
    async mint(claims, audience, f = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(claims as JWTPayload)
        .setProtectedHeader({ alg: 'RS256', kid: 'ci-1', typ: 'JWT' })
        .setIssuer(f.issuer ?? self.issuer)
        .setAudience(f.audience ?? audience)
        .setIssuedAt(now + Math.min(0, f.nbfIn ?? 0))
        .setNotBefore(now + (f.nbfIn ?? -5))
        .setExpirationTime(now + (f.expIn ?? 300))
        .sign(f.foreignKey ? foreign.privateKey : key.privateKey);
    },
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
          jwks_uri: `${self.issuer}/jwks`,
          id_token_signing_alg_values_supported: ['RS256'],
        });
      if (url.pathname === '/jwks') return new Response(self.jwks, { headers: { 'content-type': 'application/json' } });
      if (url.pathname === '/actions/token') {
        const bearer = /^bearer (.+)$/i.exec(req.headers.get('authorization') ?? '')?.[1];
        const job = bearer ? jobs.get(bearer) : undefined;
        if (!job) return new Response('unknown job', { status: 401 });
        const aud = url.searchParams.get('audience') ?? '';
        self.requests.push(aud);
        return Response.json({ count: 1, value: await self.mint(job.claims, aud, job.faults) });
      }
      return new Response('not found', { status: 404 });
    },
  });
  self.issuer = `http://127.0.0.1:${server.port}`;
  return self;
}
