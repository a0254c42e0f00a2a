import type { Duplex } from 'node:stream';
import type { AuthContext, Connection } from 'ssh2';
import { accessRefusal } from '../audit/accessRefusal.ts';
import type { AuditInput } from '../audit/events.ts';
import type { StoredLock } from '../auth/locks.ts';
import { type Clock, systemClock } from '../clock.ts';
import { parseOpenSSHPrivateKey } from '../crypto/keys.ts';
import { CertRejected, parseCert } from '../crypto/sshcert.ts';
import { describe, TpError } from '../errors.ts';
import { cryptoIds, type IdSource } from '../ids.ts';
import { log } from '../log.ts';
import { checkNodeAccess, lockApplies, type Role, resolveRoles } from '../rbac/index.ts';
import { SERVER_ALGORITHMS } from './algorithms.ts';
import { serveLocalForward, serveRemoteForward, startAgentForward } from './forwarding.ts';
import { lookupOsUser, type OsUser } from './osUser.ts';
import { serveSession } from './session.ts';
import { type SessionAuditContext, startSessionAudit } from './sessionAudit.ts';
import { hostKeys, ssh2 } from './ssh2.ts';
import { type VerifiedUser, verifyUserAuth } from './userCert.ts';

/** What the node knows of the cluster, kept fresh by the agent. */
export interface NodeState {
  userCas(): Buffer[];
  roles(): Role[];
  locks(): StoredLock[];
}

export interface SshNodeOptions {
  hostId: string;
  nodeName: string;
  labels: () => Record<string, string>;
  /** OpenSSH private host key and its host certificate line. */
  hostKey: string;
  hostCert: string;
  state: NodeState;
  emit(events: AuditInput[]): void;
  /** Session recording: spool directory, the cluster's mode, and who to tell when a part is on disk. */
  recording?: SessionAuditContext['recording'];
  clock?: Clock;
  /** Makes connection and session IDs. Default the platform's cryptographic randomness. */
  ids?: IdSource;
}

/**
 * The tp SSH node: presents its host certificate, accepts only user certificates it verifies itself (CA, validity,
 * principal, source-address, locks, roles' labels and deny rules), and serves exec, PTY shells, SFTP and, when the
 * certificate permits, port and agent forwarding. Sessions end when the certificate expires.
 */
export class SshNode {
  private server: ReturnType<typeof ssh2>['Server']['prototype'] | undefined;
  private readonly clock: Clock;
  private readonly ids: IdSource;
  /** Session IDs the proxy chose, by the end user's address, until that connection takes its first one. */
  private readonly chosenIds = new Map<string, string>();
  private readonly conns = new Set<Connection>();
  /** Who each authenticated connection belongs to, for lock enforcement. */
  private readonly owners = new Map<Connection, { user: string; botInstance?: string; emit: () => void }>();

  constructor(private readonly o: SshNodeOptions) {
    this.clock = o.clock ?? systemClock;
    this.ids = o.ids ?? cryptoIds;
    // Check the host identity now (cheaply, without ssh2) so a bad key fails at start, not at the first login.
    parseOpenSSHPrivateKey(o.hostKey);
    parseCert(o.hostCert);
  }

  /** The ssh2 server, made on the first connection: an idle agent never loads ssh2 (DESIGN.md memory budget). */
  private sshServer(): ReturnType<typeof ssh2>['Server']['prototype'] {
    if (this.server) return this.server;
    const S = ssh2().Server;
    this.server = new S(
      {
        hostKeys: hostKeys(this.o.hostKey, this.o.hostCert),
        algorithms: SERVER_ALGORITHMS as never,
        ident: 'tp',
      },
      (conn: Connection, info: { ip: string; port: number }) => this.onConnection(conn, info.ip ?? '', info.port ?? 0),
    );
    return this.server;
  }

  /**
   * Presents a new host key and certificate (renewed in a CA rotation) on connections from now on; open
   * connections keep the one they negotiated.
   */
  setHostIdentity(hostKey: string, hostCert: string): void {
    parseOpenSSHPrivateKey(hostKey);
    parseCert(hostCert);
    this.o.hostKey = hostKey;
    this.o.hostCert = hostCert;
    this.server = undefined;
  }

  /**
   * Serves one incoming byte stream carrying SSH (from the tunnel or the direct listener); `sessionId`, from the
   * proxy's header, is the ID its first session channel takes.
   */
  serve(stream: Duplex, client: string, sessionId?: string): void {
    const i = client.lastIndexOf(':');
    // The end user's address (from the proxy's stream header), not the proxy's: own properties shadow a socket's getters.
    const ip = client.slice(0, i).replace(/^\[|\]$/g, '');
    const port = Number(client.slice(i + 1));
    Object.defineProperty(stream, 'remoteAddress', { value: ip, configurable: true });
    Object.defineProperty(stream, 'remotePort', { value: port, configurable: true });
    if (sessionId) {
      const key = `${ip}|${port}`;
      this.chosenIds.set(key, sessionId);
      // A stream that never becomes a connection leaves nothing behind.
      stream.once('close', () => this.chosenIds.get(key) === sessionId && this.chosenIds.delete(key));
    }
    this.sshServer().injectSocket(stream as never);
  }

  /** Number of open SSH connections. */
  get connections(): number {
    return this.conns.size;
  }

  private lockFor(user: string, botInstance?: string): StoredLock | undefined {
    const node = { name: this.o.nodeName, hostId: this.o.hostId };
    return this.o.state.locks().find((l) => lockApplies(l, { user, node, botInstance }));
  }

  private authorize(ctx: AuthContext, ip: string): VerifiedUser {
    const v = verifyUserAuth(ctx as never, { cas: this.o.state.userCas(), now: this.clock.now(), remoteIp: ip });
    const lock = this.lockFor(v.username, v.cert.extensions['tp-bot-instance@tp']);
    if (lock) throw new CertRejected('malformed', `access is locked: ${lock.message || 'locked by an administrator'}`);
    const all = this.o.state.roles();
    const roles = resolveRoles(v.roles, (n) => all.find((r) => r.metadata.name === n));
    checkNodeAccess(roles, v.traits, ctx.username, this.o.labels());
    return v;
  }

  private onConnection(conn: Connection, ip: string, port: number): void {
    this.conns.add(conn);
    const connectionId = this.ids.uuid();
    const key = `${ip}|${port}`;
    let chosenId = this.chosenIds.get(key);
    this.chosenIds.delete(key);
    const base = {
      server_id: this.o.hostId,
      server_name: this.o.nodeName,
      connection_id: connectionId,
      'addr.remote': `${ip}:${port}`,
    };
    let who: VerifiedUser | undefined;
    let login = '';
    let osUser: OsUser | undefined;
    let expiry: ReturnType<typeof setTimeout> | undefined;
    const cleanups: (() => void)[] = [];
    let audited = false;

    conn.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      try {
        const v = this.authorize(ctx, ip);
        if (!v.queryOnly) {
          osUser = lookupOsUser(ctx.username);
          who = v;
          login = ctx.username;
        }
        ctx.accept();
      } catch (err) {
        const plainKey = err instanceof CertRejected && !ctx.key.algo.includes('-cert-');
        if (!plainKey && !audited) {
          audited = true;
          const refused = { kind: 'node', via: 'node', user: tryKeyId(ctx), principal: ctx.username };
          this.o.emit([
            {
              ...accessRefusal({ ...refused, target: this.o.nodeName, remote: `${ip}:${port}` }, describe(err)),
              ...base,
            },
          ]);
        }
        if (!(err instanceof TpError)) log.error('ssh auth check failed', { error: describe(err) });
        ctx.reject(['publickey']);
      }
    });

    conn.on('ready', () => {
      if (!who || !osUser) return conn.end();
      const user = osUser;
      const owner = who.username;
      this.owners.set(conn, {
        user: owner,
        botInstance: who.cert.extensions['tp-bot-instance@tp'],
        emit: () =>
          this.o.emit([
            {
              type: 'auth.attempt',
              success: false,
              user: owner,
              login,
              error: 'session ended: a lock now applies',
              ...base,
            },
          ]),
      });
      const ext = who.cert.extensions;
      const msLeft = Number(who.cert.validBefore) * 1000 - this.clock.now();
      expiry = setTimeout(
        () => {
          log.info('certificate expired: ending session', { user: who?.username, connection: connectionId });
          conn.end();
        },
        Math.max(0, Math.min(msLeft, 2 ** 31 - 1)),
      );
      const portForwarding = 'permit-port-forwarding' in ext;
      if (portForwarding)
        serveLocalForward(conn, (dest) => this.o.emit([{ type: 'port', user: who?.username, login, dest, ...base }]));
      cleanups.push(
        serveRemoteForward(conn, portForwarding, (bind) =>
          this.o.emit([{ type: 'port', user: who?.username, login, bind, ...base }]),
        ),
      );
      let agentSock: string | undefined;
      conn.on('session', (accept, reject) => {
        if (!accept) return reject?.();
        const session = accept();
        session.on('auth-agent', (ok, no) => {
          if (!('permit-agent-forwarding' in ext)) return no?.();
          if (!agentSock) {
            const fwd = startAgentForward(conn, user);
            agentSock = fwd.path;
            cleanups.push(fwd.close);
          }
          ok?.();
        });
        serveSession(
          session,
          user,
          { pty: 'permit-pty' in ext },
          {
            env: (): Record<string, string> => (agentSock ? { SSH_AUTH_SOCK: agentSock } : {}),
            onStart: (kind, command, pty) => {
              const sessionId = chosenId; // the first session only
              chosenId = undefined;
              return startSessionAudit(
                {
                  emit: (e) => this.o.emit(e),
                  recording: this.o.recording,
                  hostId: this.o.hostId,
                  nodeName: this.o.nodeName,
                  clock: this.clock,
                  ids: this.ids,
                },
                { user: who!.username, login, base, kind, command, pty, sessionId },
              );
            },
          },
        );
      });
    });

    conn.on('error', (err) => log.debug('ssh connection error', { error: describe(err), connection: connectionId }));
    conn.on('close', () => {
      this.conns.delete(conn);
      this.owners.delete(conn);
      if (expiry) clearTimeout(expiry);
      for (const c of cleanups) c();
    });
  }

  /** Ends the sessions of users (or of this node) that a lock now covers; the agent calls it on each state refresh. */
  enforceLocks(): number {
    let ended = 0;
    for (const [conn, o] of this.owners) {
      if (!this.lockFor(o.user, o.botInstance)) continue;
      log.info('lock applies: ending session', { user: o.user });
      o.emit();
      this.owners.delete(conn);
      conn.end();
      ended++;
    }
    return ended;
  }

  /** Ends every connection. */
  close(): void {
    for (const c of this.conns) c.end();
    this.conns.clear();
  }
}

/** The key ID of a certificate offered in an auth attempt, for audit; undefined for plain or unreadable keys. */
function tryKeyId(ctx: AuthContext): string | undefined {
  if (ctx.method !== 'publickey' || !ctx.key.algo.includes('-cert-')) return undefined;
  try {
    return parseCert(ctx.key.data).keyId;
  } catch (err) {
    if (err instanceof CertRejected) return undefined;
    throw err;
  }
}
