// A cluster serving two web apps to browsers on their own hosts (`grafana.localhost`, `billing.localhost`): the
// proxy's public address is `localhost:<port>`, an agent serves both by `--app`, and the upstreams (Bun.serve,
// written for the tests) echo what they got, verify `tp-jwt-assertion` against the proxy's JWKS with jose, answer a
// redirect at their internal address and serve a WebSocket echo.
import { connect } from 'node:tls';
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { ApiClient } from '../../core/api/client.ts';
import { AckSchema, JwksSchema } from '../../core/api/schemas.ts';
import { startTestCluster, type TestCluster, waitFor } from './cluster.ts';
import { freePort } from './sshd.ts';

export const APP_PASSWORD = 'correct horse battery staple';

/** What an upstream saw of one request. */
export interface AppSeen {
  app: string;
  path: string;
  headers: Record<string, string>;
  claims?: JWTPayload;
  tokenError?: string;
}

/** The cluster, its apps' upstreams and what they saw. */
export interface AppBrowserCluster {
  c: TestCluster;
  port: number;
  /** `https://localhost:<port>`: the web UI. */
  base: string;
  /** `https://<app>.localhost:<port>`. */
  appUrl(app: string): string;
  upstreamPort(app: string): number;
  seen: AppSeen[];
  tlsCa: string[];
  close(): Promise<void>;
}

function upstream(app: string, seen: AppSeen[], jwks: () => ReturnType<typeof createLocalJWKSet> | undefined) {
  const server: ReturnType<typeof Bun.serve> = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    // Bun refuses bodies over 128 MiB by default; the transfer test uploads 500 MB.
    maxRequestBodySize: 1 << 30,
    async fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname === '/ws' && srv.upgrade(req, { data: undefined })) return undefined;
      // Large transfers stream: /upload counts what it reads, /download?mb=N answers N MiB made as it goes.
      if (url.pathname === '/upload') {
        let n = 0;
        for await (const c of req.body ?? []) n += c.length;
        return Response.json({ bytes: n });
      }
      if (url.pathname === '/download') {
        const chunk = new Uint8Array(1 << 20).fill(120);
        let left = Number(url.searchParams.get('mb'));
        const body = new ReadableStream({
          pull(ctl) {
            if (left-- > 0) ctl.enqueue(chunk);
            else ctl.close();
          },
        });
        return new Response(body, { headers: { 'content-length': String(Number(url.searchParams.get('mb')) << 20) } });
      }
      const token = req.headers.get('tp-jwt-assertion') ?? '';
      const s: AppSeen = { app, path: url.pathname, headers: Object.fromEntries(req.headers) };
      try {
        const audience = `http://127.0.0.1:${server.port}`;
        s.claims = (await jwtVerify(token, jwks()!, { issuer: 'test.cluster', audience })).payload;
      } catch (err) {
        s.tokenError = String(err);
      }
      seen.push(s);
      if (url.pathname === '/redirect')
        return new Response(null, { status: 302, headers: { location: `http://127.0.0.1:${server.port}/x?y=1` } });
      if (url.pathname === '/echo') return Response.json(s);
      return new Response(
        `<!doctype html><title>${app} home</title><h1 id="upstream-app">${app}</h1><p>${url.pathname}</p>`,
        {
          headers: { 'content-type': 'text/html' },
        },
      );
    },
    websocket: {
      message(ws, msg) {
        ws.send(`echo:${msg}`);
      },
    },
  });
  return server;
}

/** Starts the cluster (`proxyYaml`: more proxy settings, flow style): users `alice` (role access, password) and `erin` (a role denying every app). */
export async function startAppBrowserCluster(o: { proxyYaml?: string } = {}): Promise<AppBrowserCluster> {
  const seen: AppSeen[] = [];
  let jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  const ups = { grafana: upstream('grafana', seen, () => jwks), billing: upstream('billing', seen, () => jwks) };
  const port = await freePort();
  const config = `cluster_name: test.cluster
auth: {listen: "127.0.0.1:0", second_factor: "off"}
proxy: {listen: "127.0.0.1:${port}", public_addr: "localhost:${port}", ssh_listen: "127.0.0.1:0"${o.proxyYaml ? `, ${o.proxyYaml}` : ''}}
ssh: {enabled: false}
`;
  const apps = Object.entries(ups).map(([name, s]) => `${name}=http://127.0.0.1:${s.port}`);
  const c = await startTestCluster({ config, agents: [{ name: 'app-agent', pluginFlags: { app: apps } }] });
  await waitFor('the apps at the proxy', async () => (await c.proxy.view.resources('app')).length === 2, 20_000);
  const tlsCa = (await c.auth.client.getCa('tls')).tlsCerts;
  jwks = createLocalJWKSet(
    await new ApiClient([c.proxy.addr], { ca: tlsCa }).get(JwksSchema, '/.well-known/jwks.json'),
  );
  await c.auth.admin.post(AckSchema, '/v1/roles', {
    role: { metadata: { name: 'no-apps' }, spec: { allow: {}, deny: { app_labels: { '*': '*' } } } },
  });
  await c.auth.client.createUser({
    name: 'alice',
    roles: ['access'],
    traits: { logins: ['alice'] },
    password: APP_PASSWORD,
  });
  await c.auth.client.createUser({ name: 'erin', roles: ['access', 'no-apps'], traits: {}, password: APP_PASSWORD });
  return {
    c,
    port,
    base: `https://localhost:${port}`,
    appUrl: (app) => `https://${app}.localhost:${port}`,
    upstreamPort: (app) => ups[app as keyof typeof ups].port ?? 0,
    seen,
    tlsCa,
    close: async () => {
      await c.close();
      for (const s of Object.values(ups)) await s.stop(true);
    },
  };
}

/** One raw HTTP/1.1 exchange on an app host (SNI `host`), the client closing; the whole answer as text. */
export async function rawAppRequest(
  port: number,
  host: string,
  request: string,
  /** A client certificate to present (an app certificate from `tp apps login`). */
  creds?: { pem: string; key: string },
): Promise<string> {
  const sock = connect({
    host: '127.0.0.1',
    port,
    servername: host,
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
    ...(creds ? { cert: creds.pem, key: creds.key } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('secureConnect', resolve);
    sock.once('error', reject);
  });
  let text = '';
  sock.on('data', (d: Buffer) => {
    text += d.toString('latin1');
  });
  const ended = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  sock.write(request);
  const timer = setTimeout(() => sock.destroy(), 15_000);
  await ended;
  clearTimeout(timer);
  return text;
}
