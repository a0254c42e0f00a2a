import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import * as v from 'valibot';
import { ApiClient } from '../api/client.ts';
import { OnlineNodeSchema } from '../api/webSchemas.ts';
import { readIdentityFile } from '../client/identityFile.ts';
import type { Clock } from '../clock.ts';
import { parseCert } from '../crypto/sshcert.ts';
import { BadParameter, describe, Locked, NotFound } from '../errors.ts';
import { log } from '../log.ts';
import { backoffDelay } from '../net/backoff.ts';
import { parseHostPort } from '../net/index.ts';
import type { JoinMethodKind } from './idToken.ts';
import {
  type BotIdentity,
  type BotKeyPair,
  joinBot,
  joinBotWithIdToken,
  newBotKeys,
  rejoinBot,
  renewBot,
} from './join.ts';
import { type BotExtraOutputs, writeBotOutputs } from './outputs.ts';

/** What `tp bot start` was asked for. */
export interface BotRunOptions {
  proxy?: string;
  /** Join token (or, with an ID-token method, the join method's name); without one, the identity in `out` is renewed. */
  token?: string;
  /** How to join: the token is a secret (default), or names a GitHub/OIDC join method proven by `idToken`. */
  joinMethod?: JoinMethodKind;
  /** The CI platform's ID token for the cluster (audience); required with the github and oidc join methods. */
  idToken?: (cluster: string) => Promise<string>;
  caPin?: string;
  out: string;
  ttlMs?: number;
  /** Renew at least this often; by default when a third of the certificate's lifetime is left. */
  renewEveryMs?: number;
  /** The command line that runs this tp again (the ProxyCommand in ssh_config). */
  tp: string[];
  /** More files to keep fresh in `out` (the kubeconfig of `--kube`), made anew at every write. */
  extraOutputs?: BotExtraOutputs;
  clock: Clock;
  random: () => number;
}

/** The renewal loop's state, for /healthz and /metrics. */
interface Health {
  renewals: number;
  failures: number;
  lastError?: string;
  expires: number;
  generationLocked: boolean;
}

const certWindow = (id: BotIdentity) => {
  const c = parseCert(id.sshCert);
  return { from: Number(c.validAfter) * 1000, to: Number(c.validBefore) * 1000 };
};

/** A bot joined (or resumed) and its outputs written; `run` keeps them fresh until `close`. */
export class BotRunner {
  private id!: BotIdentity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private status: Server | undefined;
  private stopped = false;
  private pending: BotKeyPair | undefined;
  readonly health: Health = { renewals: 0, failures: 0, expires: 0, generationLocked: false };

  constructor(private readonly o: BotRunOptions) {}

  /** Joins with the token, or renews the identity already in the output directory; writes the outputs once. */
  async first(): Promise<BotIdentity> {
    if (this.o.token) {
      if (!this.o.proxy) throw new BadParameter('--proxy HOST:PORT is required to join');
      if (!this.o.caPin) throw new BadParameter('--ca-pin sha256:... is required to join (printed by `tp bots add`)');
      const { proxy, token, caPin, ttlMs, idToken } = this.o;
      if (this.o.joinMethod && this.o.joinMethod !== 'token') {
        if (!idToken) throw new BadParameter(`--join-method ${this.o.joinMethod} needs an ID token source`);
        this.id = await joinBotWithIdToken({ proxy, method: token, caPin, idToken, ttlMs });
      } else this.id = await joinBot({ proxy, token, caPin, ttlMs });
    } else {
      const file = join(this.o.out, 'identity');
      if (!existsSync(file))
        throw new BadParameter(`no --token given and no identity in ${this.o.out} to renew: give --token`);
      const saved = readIdentityFile(file);
      if (!saved.instance) throw new BadParameter(`${file} is not a bot identity (no instance)`);
      this.id = await this.refresh({ ...saved, instance: saved.instance }, newBotKeys(saved));
    }
    await this.write();
    return this.id;
  }

  /** Renews on schedule until closed; a failed renewal is retried with backoff while the certificate lasts. */
  run(): void {
    this.schedule(this.nextDelay());
  }

  /** Serves /healthz (200 while the certificate is valid and the instance not locked) and /metrics on `addr`. */
  async serveStatus(addr: string): Promise<string> {
    const [host, port] = parseHostPort(addr);
    this.status = createServer((req, res) => {
      const ok = !this.health.generationLocked && this.health.expires > this.o.clock.now();
      if (req.url === '/healthz') {
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ ok, expires: new Date(this.health.expires).toISOString(), error: this.health.lastError }),
        );
      } else if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(
          [
            `tp_bot_renewals_total ${this.health.renewals}`,
            `tp_bot_renewal_failures_total ${this.health.failures}`,
            `tp_bot_certificate_expiry_seconds ${Math.floor(this.health.expires / 1000)}`,
            `tp_bot_healthy ${ok ? 1 : 0}`,
            '',
          ].join('\n'),
        );
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.status!.once('error', reject);
      this.status!.listen(port, host, () => resolve());
    });
    const a = this.status.address() as { port: number };
    return `${host}:${a.port}`;
  }

  /** Stops renewing and closes the status listener. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await new Promise<void>((resolve) => (this.status ? this.status.close(() => resolve()) : resolve()));
  }

  /** Renews while the certificate is valid; past its end, rejoins with the bound key (the bot's rejoin budget). */
  private refresh(cur: BotIdentity, keys: BotKeyPair): Promise<BotIdentity> {
    if (certWindow(cur).to > this.o.clock.now() + 1000) return renewBot(cur, keys, this.o.ttlMs);
    log.warn('bot certificate expired: rejoining with the bound key', { instance: cur.instance });
    return rejoinBot(cur, keys, this.o.ttlMs);
  }

  private nextDelay(): number {
    const w = certWindow(this.id);
    const third = Math.max(1000, ((w.to - w.from) * 2) / 3 - (this.o.clock.now() - w.from));
    return Math.min(third, this.o.renewEveryMs ?? third);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.renewOnce(0), ms);
  }

  private async renewOnce(attempt: number): Promise<void> {
    // Kept until a renewal succeeds: a retry after a lost answer asks for the same keys (auth knows it then).
    this.pending ??= newBotKeys(this.id);
    try {
      this.id = await this.refresh(this.id, this.pending);
      this.pending = undefined;
      this.health.renewals++;
      this.health.lastError = undefined;
      await this.write();
      log.info('bot identity renewed', {
        instance: this.id.instance,
        expires: new Date(this.health.expires).toISOString(),
      });
      this.schedule(this.nextDelay());
    } catch (err) {
      this.health.failures++;
      this.health.lastError = describe(err);
      if (err instanceof Locked || err instanceof NotFound) {
        this.health.generationLocked = true;
        log.error('bot identity can no longer renew', { instance: this.id.instance, error: describe(err) });
        return;
      }
      // Retries stay frequent relative to the lifetime, so an outage shorter than what is left is ridden out.
      const w = certWindow(this.id);
      const maxMs = Math.max(500, Math.min(10_000, (w.to - w.from) / 10));
      const wait = backoffDelay({ baseMs: 250, maxMs }, attempt, this.o.random);
      log.warn('bot renewal failed; retrying', { error: describe(err), retryMs: Math.round(wait) });
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.renewOnce(attempt + 1), wait);
    }
  }

  /** Writes the outputs, with the nodes this bot may reach named in ssh_config (best effort: the CAs matter more). */
  private async write(): Promise<void> {
    this.health.expires = certWindow(this.id).to;
    let nodes: string[] = [];
    try {
      const api = new ApiClient([this.id.proxy], {
        ca: this.id.tlsCa,
        cert: this.id.tlsCert,
        key: this.id.tlsKey,
        serverRole: 'proxy',
      });
      nodes = (await api.send(v.array(OnlineNodeSchema), 'GET', '/webapi/nodes')).map((n) => n.name);
    } catch (err) {
      log.warn('could not list nodes for ssh_config; writing the cluster pattern only', { error: describe(err) });
    }
    const extra = this.o.extraOutputs ? await this.o.extraOutputs(this.id, this.o.out) : {};
    writeBotOutputs(this.o.out, this.id, nodes, this.o.tp, extra);
  }
}
