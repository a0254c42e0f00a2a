import { createServer, type Socket } from 'node:net';
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { AuditInput } from '../../core/audit/events.ts';
import { systemClock } from '../../core/clock.ts';
import { jwksOf, signAppToken } from '../../core/crypto/jwt.ts';
import { createTlsCA } from '../../core/crypto/x509.ts';
import { cryptoIds } from '../../core/ids.ts';
import type { AgentPluginContext, PluginSession, VerifiedUser } from '../../core/plugin/types.ts';
import { startAppAgent } from '../../plugins/app-http/agent.ts';
import type { AppEntry } from '../../plugins/app-http/index.ts';
import { hostContextStub } from './pluginContext.ts';

/** What the upstream saw of one request: its headers and the verified token's claims (or why it did not verify). */
export interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
  claims?: JWTPayload;
  tokenError?: string;
  bodyBytes: number;
}

/** The app-http agent behind a loopback listener (each connection one session) in front of a Bun.serve upstream. */
export interface AppHarness {
  /** The listener's port: what curl talks to. */
  port: number;
  upstreamPort: number;
  /** Every audit event the agent emitted. */
  events: AuditInput[];
  /** Every request the upstream received. */
  seen: Seen[];
  close(): Promise<void>;
}

/**
 * Starts an upstream written for the tests (`/echo` answers what it saw as JSON and verifies `tp-jwt-assertion` with
 * jose against the JWKS of a JWT CA; `/redirect` answers a Location at its own address; `/stream` streams 5 chunks;
 * `/ws` is a WebSocket echo), the agent side of app-http serving it as app `grafana`, with a context whose `call`
 * signs tokens with that CA (or throws what `refuse` says, as auth would refuse), and a TCP listener handing each connection to `serve` for `user`.
 */
export async function startAppHarness(
  opts: { user?: Partial<VerifiedUser>; entry?: Partial<AppEntry>; refuse?: () => string | undefined } = {},
) {
  const ca = await createTlsCA('test', Date.now(), 1, 'test JWT CA');
  const jwks = createLocalJWKSet(await jwksOf([ca.cert]));
  const seen: Seen[] = [];
  const events: AuditInput[] = [];
  let audience = '';
  const upstream = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req, server) {
      const url = new URL(req.url);
      if (url.pathname === '/ws' && server.upgrade(req)) return undefined;
      const body = req.body ? new Uint8Array(await req.arrayBuffer()) : new Uint8Array();
      const s: Seen = {
        method: req.method,
        path: url.pathname,
        headers: Object.fromEntries(req.headers),
        bodyBytes: body.length,
      };
      const token = req.headers.get('tp-jwt-assertion');
      try {
        s.claims = (await jwtVerify(token ?? '', jwks, { issuer: 'test', audience })).payload;
      } catch (err) {
        s.tokenError = (err as Error).message;
      }
      seen.push(s);
      if (url.pathname === '/redirect')
        return new Response(null, { status: 302, headers: { Location: `${audience}/x?y=1` } });
      if (url.pathname === '/stream') {
        let i = 0;
        const stream = new ReadableStream({
          async pull(c) {
            if (i++ >= 5) return c.close();
            c.enqueue(new TextEncoder().encode(`chunk ${i}\n`));
          },
        });
        return new Response(stream);
      }
      return Response.json(s);
    },
    websocket: {
      message: (ws, m) => {
        ws.send(m);
      },
    },
  });
  audience = `http://127.0.0.1:${upstream.port}`;
  const host = hostContextStub('/nonexistent');
  const ctx: AgentPluginContext = {
    ...host,
    hostId: '6f1c1d53-7a52-4b0f-9d7e-1d1b6f0f0a02',
    nodeName: 'agent-1',
    cluster: 'test',
    clock: systemClock,
    ids: cryptoIds,
    emit: (e) => events.push(...e),
    state: { ...host.state, roles: () => [], locks: () => [] },
    call: async <T>(method: string, path: string, body: unknown, parse: (json: unknown) => T): Promise<T> => {
      if (method !== 'POST' || path !== '/webapi/agent/app/token') throw new Error(`unexpected call ${method} ${path}`);
      const b = body as { app: string };
      const refusal = opts.refuse?.();
      if (refusal) throw new Error(refusal);
      const now = Date.now();
      const token = await signAppToken(ca, {
        ...{ issuer: 'test', audience, username: user.name, roles: user.roles, traits: user.traits },
        issuedAt: now,
        expires: now + 60_000,
      });
      if (b.app !== 'grafana') throw new Error('not served');
      return parse({ token, expires: new Date(now + 60_000).toISOString() });
    },
    dataDir: '/nonexistent',
  };
  const agent = startAppAgent(ctx, [
    {
      name: 'grafana',
      uri: audience,
      public_addr: 'grafana.tp.example.com',
      labels: { env: 'dev' },
      rewrite: {
        headers: ['X-Forwarded-Login: {{internal.logins}}', 'X-App-Login: {{internal.logins}}'],
        redirect: [],
      },
      insecure_skip_verify: false,
      ...opts.entry,
    },
  ]);
  const user: VerifiedUser = {
    name: 'alice',
    roles: ['access'],
    traits: { logins: ['alice', 'ops'] },
    expires: Date.now() + 3_600_000,
    certDer: 'MIIB',
    ...opts.user,
  };
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    const session: PluginSession = {
      id: cryptoIds.uuid(),
      user,
      resource: 'grafana',
      route: {},
      client: `${socket.remoteAddress}:${socket.remotePort}`,
      signal: new AbortController().signal,
    };
    void agent.serve(socket, session).finally(() => {
      socket.destroy();
      sockets.delete(socket);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const h: AppHarness = {
    port: (server.address() as { port: number }).port,
    upstreamPort: upstream.port!,
    events,
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await upstream.stop(true);
    },
  };
  return h;
}
