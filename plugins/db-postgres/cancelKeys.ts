// The cancel keys tp hands clients in place of the server's BackendKeyData, so a CancelRequest (which arrives on a
// connection of its own, with nothing but the key) can be mapped back to the session's real backend.
import { timingSafeEqual } from 'node:crypto';
import { TpError } from '../../core/errors.ts';
import type { IdSource } from '../../core/ids.ts';
import type { ServerAddress } from './upstream.ts';

/** The session a cancel key belongs to: who may cancel it, and the server's own key for its backend. */
export interface CancelTarget {
  /** The tp user of the session: only the same user may cancel it. */
  user: string;
  /** The resource (database service) the session runs on. */
  resource: string;
  server: ServerAddress;
  ca: string[];
  pid: number;
  secret: Buffer;
}

/** A key as the client sees it. */
export interface ClientKey {
  pid: number;
  secret: Buffer;
}

const MAX_ATTEMPTS = 8;

/** Every live session's client key on this agent; each session releases its key when it ends. */
export class CancelKeys {
  private readonly byPid = new Map<number, { secret: Buffer; target: CancelTarget }>();

  constructor(private readonly ids: IdSource) {}

  /** A fresh key (positive 31-bit pid, 4-byte secret) that maps to `target` until released. */
  issue(target: CancelTarget): ClientKey {
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const pid = this.ids.bytes(4).readUInt32BE(0) & 0x7fffffff;
      if (pid === 0 || this.byPid.has(pid)) continue;
      const secret = this.ids.bytes(4);
      this.byPid.set(pid, { secret, target });
      return { pid, secret };
    }
    throw new TpError('no free cancel key after several random draws');
  }

  /** The session `key` names, or undefined when no live session has it (the secret is compared in constant time). */
  find(key: ClientKey): CancelTarget | undefined {
    const e = this.byPid.get(key.pid);
    if (!e || e.secret.length !== key.secret.length) return undefined;
    return timingSafeEqual(e.secret, key.secret) ? e.target : undefined;
  }

  /** Forgets `key` (its session ended). */
  release(key: ClientKey): void {
    this.byPid.delete(key.pid);
  }

  /** How many keys are live. */
  get size(): number {
    return this.byPid.size;
  }
}
