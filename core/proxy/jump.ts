import { type AddressInfo, createServer } from 'node:net';
import type { Connection } from 'ssh2';
import { accessRefusal } from '../audit/accessRefusal.ts';
import type { NodeRecord } from '../auth/nodes.ts';
import { type Clock, systemClock } from '../clock.ts';
import { parseAuthorizedKey } from '../crypto/keys.ts';
import { describe, TpError } from '../errors.ts';
import { log } from '../log.ts';
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS, PerAddressLimit } from '../net/connectionLimits.ts';
import { parseHostPort, splice } from '../net/index.ts';
import { SERVER_ALGORITHMS } from '../ssh/algorithms.ts';
import { SSH_SERVICE } from '../ssh/service.ts';
import { hostKeys, ssh2 } from '../ssh/ssh2.ts';
import { type VerifiedUser, verifyUserAuth } from '../ssh/userCert.ts';
import type { AccessGate, AccessRequest } from './accessGate.ts';
import type { ClusterView } from './clusterView.ts';
import { type DialTls, dialAgent } from './dial.ts';
import type { TunnelRegistry } from './tunnels.ts';

export interface JumpOptions {
  listen: string;
  cluster: string;
  hostKey: string;
  hostCert: string;
  userCa: string[];
  view: ClusterView;
  gate: AccessGate;
  tunnels: TunnelRegistry;
  dialTls: DialTls;
  /** SSH authentication deadline and per-address limit for connections not yet authenticated. */
  limits?: Pick<ConnectionLimits, 'handshakeMs' | 'unauthenticatedPerIp'>;
  /** Checks the user certificates' validity. Default the wall clock. */
  clock?: Clock;
}

/**
 * The proxy's plain SSH port for stock OpenSSH's `ssh -J user@proxy:3023 login@node`: authenticates the user's
 * certificate, then carries each direct-tcpip channel to the named node (through its tunnel or directly). Only
 * forwarding is served, never a shell; the SSH session to the node stays end to end.
 */
export async function startJumpServer(o: JumpOptions): Promise<JumpServer> {
  let cas = o.userCa.map((l) => parseAuthorizedKey(l).blob);
  let ssh: ReturnType<typeof sshServer> | undefined;
  const limits = o.limits ?? DEFAULT_CONNECTION_LIMITS;
  const clock = o.clock ?? systemClock;
  const unauthenticated = new PerAddressLimit(limits.unauthenticatedPerIp);
  /** Per connection (by peer address and port) until it authenticates: what ends its deadline and its count. */
  const pending = new Map<string, () => void>();
  // Connections are accepted here and injected into an ssh2 server, which is remade when the host cert changes.
  const server = createServer((sock) => {
    const release = unauthenticated.admit(sock.remoteAddress ?? '');
    if (!release) {
      log.debug('jump connection refused: too many unauthenticated connections', { remote: sock.remoteAddress });
      sock.destroy();
      return;
    }
    const key = `${sock.remoteAddress}:${sock.remotePort}`;
    const deadline = setTimeout(() => sock.destroy(), limits.handshakeMs);
    const done = () => {
      clearTimeout(deadline);
      release();
      if (pending.get(key) === done) pending.delete(key);
    };
    pending.set(key, done);
    sock.once('close', done);
    ssh ??= sshServer(o.hostKey, o.hostCert);
    ssh.injectSocket(sock as never);
  });
  const sshServer = (hostKey: string, hostCert: string) =>
    new (ssh2().Server)(
      { hostKeys: hostKeys(hostKey, hostCert), algorithms: SERVER_ALGORITHMS as never, ident: 'tp-proxy' },
      (conn: Connection, info: { ip: string; port: number }) => {
        let user: VerifiedUser | undefined;
        conn.on('authentication', (ctx) => {
          if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
          try {
            const v = verifyUserAuth(ctx as never, { cas, now: clock.now(), remoteIp: info.ip });
            if (!v.queryOnly) user = v;
            ctx.accept();
          } catch (err) {
            if (ctx.key.algo.includes('-cert-')) {
              const refused = { kind: 'node', via: 'jump', principal: ctx.username, target: '' };
              o.view.emit([accessRefusal({ ...refused, remote: `${info.ip}:${info.port}` }, describe(err))]);
            }
            ctx.reject(['publickey']);
          }
        });
        conn.on('ready', () => {
          pending.get(`${info.ip}:${info.port}`)?.();
          conn.on('session', (_accept, reject) => reject?.());
          conn.on('tcpip', async (accept, reject, t) => {
            const name = t.destIP.endsWith(`.${o.cluster}`) ? t.destIP.slice(0, -(o.cluster.length + 1)) : t.destIP;
            // The login travels inside the end-to-end SSH session: the gate checks locks and visibility, the node
            // checks the login itself (and audits a refusal with the same fields).
            const access: AccessRequest = {
              kind: 'node',
              via: 'jump',
              who: { name: user!.username, roles: user!.roles, traits: user!.traits, bot: botOf(user!) },
              target: name,
              remote: `${info.ip}:${info.port}`,
            };
            try {
              const node = await o.gate.authorize<NodeRecord>(access);
              const upstream = await dialAgent(node, o.tunnels, o.dialTls, {
                service: SSH_SERVICE,
                client: `${info.ip}:0`,
                user: user!.username,
              });
              splice(accept(), upstream);
            } catch (err) {
              if (!(err instanceof TpError)) log.error('jump forward failed', { error: describe(err) });
              o.gate.refused(access, err);
              reject();
            }
          });
        });
        conn.on('error', (err) => log.debug('jump connection error', { error: describe(err) }));
      },
    );
  const [host, port] = parseHostPort(o.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    addr: `${a.address === '0.0.0.0' ? '127.0.0.1' : a.address}:${a.port}`,
    close: () => server.close(),
    setIdentity: (hostKey, hostCert, userCa) => {
      o.hostKey = hostKey;
      o.hostCert = hostCert;
      cas = userCa.map((l) => parseAuthorizedKey(l).blob);
      ssh = undefined;
    },
  };
}

/** A running jump port. */
export interface JumpServer {
  addr: string;
  close(): void;
  /** Presents a new host certificate and trusts new user CAs from the next connection on (CA rotation). */
  setIdentity(hostKey: string, hostCert: string, userCa: string[]): void;
}

/** The bot instance a user certificate names (bots' certificates only). */
function botOf(user: { cert: { extensions: Record<string, string> } }): { instance: string } | undefined {
  const instance = user.cert.extensions['tp-bot-instance@tp'];
  return instance ? { instance } : undefined;
}
