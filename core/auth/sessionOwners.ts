import type { AuditStore } from '../audit/store.ts';
import type { Backend } from '../backend/index.ts';
import type { Clock } from '../clock.ts';
import { AccessDenied, AlreadyExists, Unavailable } from '../errors.ts';

/** How long a claim outlives its session's first upload: a node's spool may hold a recording through an outage. */
const CLAIM_TTL_MS = 30 * 86_400_000;

const key = (sessionId: string) => `/session_owners/${sessionId}`;

/** Owners remembered in memory: a binding never changes, so a known one needs no second lookup. */
const KNOWN_MAX = 10_000;

/** The refusal of a node writing about a session that ran elsewhere. */
export function notOwner(sessionId: string, hostId: string): AccessDenied {
  return new AccessDenied(`session ${sessionId} ran on another node; a node writes only its own sessions`, {
    session: sessionId,
    node: hostId,
  });
}

/**
 * Which node ran each SSH session. The first thing a node says about a session binds it to that node's host ID:
 * usually its `session.start` event (stored with the sender as `server_id`, so binding costs no write), else a
 * recording upload that overtook the event (a claim kept in the backend). From then on only that node may write the
 * session's recording or report its events. Session IDs are random, so no other node can bind one first.
 */
export class SessionOwners {
  /** Sessions whose node is known, oldest first (a node reports on a busy session with every batch it sends). */
  private readonly known = new Map<string, string>();

  constructor(
    private readonly backend: Backend,
    private readonly clock: Clock,
    private readonly audit: AuditStore,
  ) {}

  /** The host ID of the node known to have run the session, if any. */
  private async owner(sessionId: string): Promise<string | undefined> {
    const known = this.known.get(sessionId);
    if (known !== undefined) return known;
    const found = await this.lookup(sessionId);
    if (found !== undefined) {
      if (this.known.size >= KNOWN_MAX) this.known.delete(this.known.keys().next().value!);
      this.known.set(sessionId, found);
    }
    return found;
  }

  /** The owner as the audit log (its session.start) or a claim in the backend says. */
  private async lookup(sessionId: string): Promise<string | undefined> {
    // By session only (its index; a session has a handful of events, session.start first): adding the type would
    // make SQLite walk every session.start in the log instead.
    const start = (await this.audit.search({ session: sessionId, limit: 20 })).find((e) => e.type === 'session.start');
    if (typeof start?.server_id === 'string') return start.server_id;
    return (await this.backend.get(key(sessionId)))?.value;
  }

  /** Throws AccessDenied when another node is known to have run the session; binds nothing. */
  async check(sessionId: string, hostId: string): Promise<void> {
    const owner = await this.owner(sessionId);
    if (owner !== undefined && owner !== hostId) throw notOwner(sessionId, hostId);
  }

  /** Like `check`, and binds the session to `hostId` when no node is known to have run it yet. */
  async claim(sessionId: string, hostId: string): Promise<void> {
    // A claim that expires between the create and the read is taken again; a few tries always settle it.
    for (let attempt = 0; attempt < 3; attempt++) {
      const owner = await this.owner(sessionId);
      if (owner === hostId) return;
      if (owner !== undefined) throw notOwner(sessionId, hostId);
      try {
        await this.backend.create({ key: key(sessionId), value: hostId, expires: this.clock.now() + CLAIM_TTL_MS });
        return;
      } catch (err) {
        if (!(err instanceof AlreadyExists)) throw err;
      }
    }
    throw new Unavailable(`could not bind session ${sessionId} to its node`);
  }
}
