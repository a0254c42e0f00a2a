// `tp proxy app NAME`: a loopback HTTP listener for tools that cannot present a client certificate; each connection
// is carried over TLS to the proxy on the app's public host with an app certificate (`tp apps login`'s, or one made
// for this run and kept in memory).
import type { Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { defineCommand } from 'citty';
import {
  type AppCredentials,
  appCertFiles,
  profileAppsDir,
  readValidAppCert,
  requestAppCert,
} from '../core/client/appCerts.ts';
import { appPublicAddr, appUrl, findApp, proxyPublicAddr, userAuthApi } from '../core/client/appResources.ts';
import { startLocalTunnel } from '../core/client/localTunnel.ts';
import { requireProfile } from '../core/client/profile.ts';
import { describe, TpError } from '../core/errors.ts';
import { parseHostPort } from '../core/net/index.ts';
import { relayLocalHttp } from '../plugins/app-http/localProxy.ts';
import { portArg } from './dbTunnel.ts';
import { action } from './lib/context.ts';
import { runUntilSignal } from './lib/daemon.ts';

/** Renew the in-memory certificate when less than this is left (ms). */
const RENEW_MS = 60_000;

/** The app's credentials: the stored ones while valid, else fresh ones from auth for the profile's user. */
function credentialsFor(name: string, publicAddr: string): () => Promise<AppCredentials> {
  let held: AppCredentials | undefined;
  return async () => {
    if (held && held.expires - Date.now() > RENEW_MS) return held;
    const p = requireProfile();
    try {
      held = readValidAppCert(appCertFiles(profileAppsDir(p), name), name, Date.now() + RENEW_MS);
    } catch (err) {
      if (!(err instanceof TpError)) throw err;
      held = await requestAppCert(userAuthApi(p), name, publicAddr);
    }
    return held;
  };
}

/** Opens TLS to the proxy at `proxy` for the app's host, presenting the app certificate. */
function dialApp(proxy: string, publicAddr: string, c: AppCredentials): Promise<TLSSocket> {
  const [host, port] = parseHostPort(proxy);
  const servername = publicAddr.replace(/:\d+$/, '');
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host, port, servername, ca: c.ca, cert: c.cert, key: c.key, ALPNProtocols: ['http/1.1'] });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

export default defineCommand({
  meta: {
    name: 'app',
    description:
      'Serve a web app on loopback for tools that cannot present a client certificate\n' +
      'They talk plain HTTP to 127.0.0.1; tp carries each connection to the app with an app certificate.\n' +
      'Runs until Ctrl+C.\n' +
      'Examples:\n  tp proxy app grafana --port 8080\n  curl http://127.0.0.1:8080/api/health',
  },
  args: {
    name: { type: 'positional', required: true, description: 'The app, as tp apps ls names it' },
    port: { type: 'string', description: 'Local port to listen on (default: a free one)' },
  },
  run: action(async (args) => {
    const port = portArg(args.port);
    const p = requireProfile();
    const [app, proxyAddr] = await Promise.all([findApp(p, args.name), proxyPublicAddr(p)]);
    const publicAddr = appPublicAddr(app, proxyAddr);
    const creds = credentialsFor(app.name, publicAddr);
    await creds(); // refused now (roles, locks) rather than at the first connection
    await runUntilSignal(
      async () => {
        let localBase = '';
        const tunnel = await startLocalTunnel({
          port,
          dial: async () => dialApp(requireProfile().proxy, publicAddr, await creds()),
          join: (local: Socket, remote) => relayLocalHttp(local, remote, publicAddr, localBase),
          onError: (err, from) =>
            process.stderr.write(`tp: connection from ${from} to app ${app.name}: ${describe(err)}\n`),
        });
        localBase = `http://${tunnel.host}:${tunnel.port}`;
        return { tunnel, localBase, close: () => tunnel.close() };
      },
      ({ localBase }) => {
        process.stdout.write(
          `Serving app ${app.name} (${appUrl(publicAddr)}) on ${localBase}/. Ctrl+C stops it.\n` +
            `  curl ${localBase}/\n`,
        );
      },
    );
  }),
});
