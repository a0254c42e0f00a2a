import type { Backend } from '../backend/index.ts';
import type { Clock } from '../clock.ts';
import { AccessDenied, AlreadyExists, Unavailable } from '../errors.ts';

/** How long a binding outlives its session's last word: a node's spool may hold a recording through a long outage. */
const BINDING_TTL_MS = 30 * 86_400_000;

const key = (sessionId: string) => `/session_owners/${sessionId}`;

/** The refusal of a node writing about a session that ran elsewhere. */
export function notOwner(sessionId: string, hostId: string): AccessDenied {
  return new AccessDenied(`session ${sessionId} ran on another node; a node writes only its own sessions`, {
    session: sessionId,
    node: hostId,
  });
}

/**
 * Which node ran each SSH session. The first thing a node says about a session (its `session.start` event or its
 * first recording upload) binds the session ID to that node's host ID; from then on only that node may write the
 * session's recording or report its events. Session IDs are random, so no other node can bind one first.
 */
export class SessionOwners {
  constructor(
    private readonly backend: Backend,
    private readonly clock: Clock,
  ) {}

  /** Binds `sessionId` to `hostId` unless it is bound already; throws AccessDenied when another node holds it. */
  async claim(sessionId: string, hostId: string): Promise<void> {
    // A binding that expires between the create and the read is taken again; a few tries always settle it.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.backend.create({ key: key(sessionId), value: hostId, expires: this.clock.now() + BINDING_TTL_MS });
        return;
      } catch (err) {
        if (!(err instanceof AlreadyExists)) throw err;
      }
      const owner = (await this.backend.get(key(sessionId)))?.value;
      if (owner === undefined) continue;
      if (owner === hostId) return;
      throw notOwner(sessionId, hostId);
    }
    throw new Unavailable(`could not bind session ${sessionId} to its node`);
  }
}
