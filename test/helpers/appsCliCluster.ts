// A cluster as an operator sets one up for web apps, through the real CLI: `tp start` from a tp.yaml whose proxy
// is public as `tp.localhost:<port>` (apps on `<name>.tp.localhost:<port>`; curl takes a wildcard certificate only
// below two labels) and whose node serves two apps from an
// upstream written for the tests, a role reaching the `env: dev` one, and users logged in with `tp login`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tpOk } from './cli.ts';
import { freePort } from './sshd.ts';
import { startTpDaemon, type TpDaemon } from './tpDaemon.ts';

const PASSWORD = 'correct horse battery staple';

export interface AppsCliCluster {
  /** `127.0.0.1:<port>`: where users log in (the proxy's public name, `tp.localhost`, resolves nowhere here). */
  proxy: string;
  port: number;
  dataDir: string;
  /** The environment of each user's shell (their own TP_HOME, logged in): alice reaches grafana, erin no app. */
  home: { alice: Record<string, string>; erin: Record<string, string> };
  /** Runs an admin command on the auth host. */
  admin(args: string[], stdin?: string): Promise<string>;
  upstream: ReturnType<typeof Bun.serve>;
  /** The path of every request the upstream received. */
  seen: string[];
  close(): Promise<void>;
}

/** The `username` claim of a `tp-jwt-assertion` (read, not verified: test/appHttp.e2e.test.ts verifies them). */
function userOf(jwt: string | null): string | null {
  const payload = jwt?.split('.')[1];
  return payload
    ? ((JSON.parse(Buffer.from(payload, 'base64url').toString()) as { username?: string }).username ?? null)
    : null;
}

/** The upstream: answers each request with what it saw (path, headers) as JSON. */
function startUpstream(seen: string[]): ReturnType<typeof Bun.serve> {
  return Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: async (req) => {
      const url = new URL(req.url);
      seen.push(url.pathname);
      // A redirect at the app's internal address: tp rewrites it to the public one.
      if (url.pathname === '/moved')
        return new Response(null, { status: 302, headers: { Location: `http://127.0.0.1:${url.port}/hello` } });
      const body = req.body ? (await req.arrayBuffer()).byteLength : 0;
      return Response.json({
        path: url.pathname,
        method: req.method,
        host: req.headers.get('host'),
        assertion: !!req.headers.get('tp-jwt-assertion'),
        user: userOf(req.headers.get('tp-jwt-assertion')),
        body,
      });
    },
  });
}

/** Starts the cluster, the role, alice (role appdev) and erin (denied every app), and logs both in. */
export async function startAppsCliCluster(dir: string): Promise<AppsCliCluster> {
  const seen: string[] = [];
  const upstream = startUpstream(seen);
  const port = await freePort();
  const dataDir = join(dir, 'data');
  const config = join(dir, 'tp.yaml');
  const uri = `http://127.0.0.1:${upstream.port}`;
  writeFileSync(
    config,
    `cluster_name: apps.test\ndata_dir: ${dataDir}\nauth: {listen: "127.0.0.1:0", second_factor: "off"}\n` +
      `proxy: {listen: "127.0.0.1:${port}", ssh_listen: "127.0.0.1:0", public_addr: "tp.localhost:${port}"}\n` +
      'ssh: {name: aio}\n' +
      `apps: {enabled: true, apps: [{name: grafana, uri: "${uri}", labels: {env: dev}}, ` +
      `{name: billing, uri: "${uri}", labels: {env: prod}}]}\n`,
  );
  const daemon: TpDaemon = await startTpDaemon(['start', '--config', config], /log in and connect/i);
  const close = async () => {
    await daemon.stop();
    await upstream.stop(true);
  };
  try {
    const proxy = `127.0.0.1:${port}`;
    const admin = (args: string[], stdin?: string) => tpOk([...args, '--data-dir', dataDir], { stdin });
    await admin(
      ['roles', 'create', '-f', '-'],
      'kind: role\nmetadata: {name: appdev}\nspec:\n  allow: {app_labels: {env: dev}}\n',
    );
    await admin(
      ['roles', 'create', '-f', '-'],
      'kind: role\nmetadata: {name: noapps}\nspec:\n  allow: {}\n  deny: {app_labels: {"*": "*"}}\n',
    );
    await admin(['users', 'add', 'alice', '--roles', 'appdev', '--password-stdin'], PASSWORD);
    await admin(['users', 'add', 'erin', '--roles', 'appdev,noapps', '--password-stdin'], PASSWORD);
    const home = { alice: { TP_HOME: join(dir, 'home-alice') }, erin: { TP_HOME: join(dir, 'home-erin') } };
    for (const [user, env] of Object.entries(home)) {
      const args = ['login', '--proxy', proxy, '--user', user, '--password-stdin', '--insecure'];
      await tpOk(args, { env, stdin: PASSWORD });
    }
    return { proxy, port, dataDir, home, admin, upstream, seen, close };
  } catch (err) {
    await close();
    throw err;
  }
}
