import type { JoinAnswer } from '../api/schemas.ts';
import type { Clock } from '../clock.ts';
import { BadParameter } from '../errors.ts';
import type { IdSource } from '../ids.ts';
import type { Emit } from './authorizer.ts';
import type { CaReader } from './caSet.ts';
import { issueHostCerts } from './issuer.ts';
import { checkNameFree, checkNodeName } from './nodeNames.ts';
import type { NodeStore } from './nodes.ts';
import type { TokenRole, TokenStore } from './tokens.ts';

/** How long a node's join registers its name before its first heartbeat takes over (heartbeats renew it). */
const JOIN_REGISTRATION_MS = 90_000;

/** What agent join reads and writes. */
export interface JoinOpsDeps {
  emit: Emit;
  clock: Clock;
  cluster: string;
  cas: CaReader;
  tokens: Pick<TokenStore, 'consume'>;
  nodes: Pick<NodeStore, 'list' | 'upsert'>;
  ids: IdSource;
}

/** Agent join: a token buys a node or proxy its host certificates and the CAs to pin. */
export class JoinOps {
  constructor(private readonly d: JoinOpsDeps) {}

  /**
   * An agent joins with a token: returns its host certificates and the CAs it must pin. Auth decides a node's names:
   * its new host ID and the name it registers (valid, and held by no live node), nothing it asks for besides.
   */
  async join(req: {
    token: string;
    role: Exclude<TokenRole, 'bot'>;
    hostName: string;
    principals?: string[];
    sshPublicKey?: string;
    tlsPublicKey: string;
    remoteAddr?: string;
  }): Promise<JoinAnswer> {
    const now = this.d.clock.now();
    try {
      if (req.role === 'node') await this.checkNodeJoin(req);
      await this.d.tokens.consume(req.token, req.role, req.hostName);
    } catch (err) {
      await this.d.emit({
        type: 'join',
        success: false,
        host: req.hostName,
        role: req.role,
        error: (err as Error).message,
        'addr.remote': req.remoteAddr,
      });
      throw err;
    }
    const out = await issueHostCerts({
      ...req,
      hostId: this.d.ids.uuid(),
      serverNames: req.role === 'proxy' ? [req.hostName, ...(req.principals ?? [])] : undefined,
      hostCa: this.d.cas.current('host'),
      tlsCa: this.d.cas.current('tls'),
      cluster: this.d.cluster,
      ttlMs: 365 * 86_400_000,
      now,
    });
    // The name is the node's from now on: registered at once, so a second join cannot take it before a heartbeat.
    if (req.role === 'node')
      await this.d.nodes.upsert(
        { hostId: out.hostId, name: req.hostName, labels: {}, tunnel: false, lastSeen: new Date(now).toISOString() },
        now + JOIN_REGISTRATION_MS,
      );
    await this.d.emit({
      type: 'join',
      host: req.hostName,
      host_id: out.hostId,
      role: req.role,
      'addr.remote': req.remoteAddr,
    });
    return {
      ...out,
      cluster: this.d.cluster,
      userCa: this.d.cas.public('user').sshKeys,
      hostCa: this.d.cas.public('host').sshKeys,
      tlsCa: this.d.cas.public('tls').tlsCerts,
    };
  }

  /** Refuses a node join that asks for its own principals, or a name that is invalid or held by a live node. */
  private async checkNodeJoin(req: { hostName: string; principals?: string[] }): Promise<void> {
    if (req.principals?.length)
      throw new BadParameter(
        `a joining node may not ask for principals (${req.principals.join(', ')}): auth names it by its host ID, ` +
          `its name and <name>.${this.d.cluster}`,
      );
    checkNodeName(req.hostName, this.d.cluster);
    checkNameFree(await this.d.nodes.list(), req.hostName);
  }
}
