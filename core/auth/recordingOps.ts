import type { Storage } from 'unstorage';
import { partKey } from '../audit/blobStore.ts';
import type { AuditLog } from '../audit/log.ts';
import { parsePart, plainText, type RecordedEvent } from '../audit/recording.ts';
import type { RecordingMeta, RecordingStatus } from '../audit/store.ts';
import { AccessDenied, BadParameter, describe, NotFound, Unavailable } from '../errors.ts';
import { log } from '../log.ts';
import { recordingScope } from '../rbac/index.ts';
import type { Authorizer, Emit } from './authorizer.ts';
import type { Identity } from './identity.ts';
import type { RoleStore } from './roles.ts';
import { notOwner, type SessionOwners } from './sessionOwners.ts';

const SID = /^[0-9a-f-]{36}$/;

/** Recordings whose session ended and whose upload finished: nothing about them changes any more. */
const FINAL: ReadonlySet<RecordingStatus> = new Set(['complete', 'interrupted']);

/** True when two descriptions of a recording say the same (a node retrying a final upload it sent already). */
function sameMeta(a: RecordingMeta, b: RecordingMeta): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof RecordingMeta)[]);
  return [...keys].every((k) => a[k] === b[k]);
}

/** What the recordings service reads and writes; `blobs` holds the recordings' parts. */
export interface RecordingOpsDeps {
  authz: Authorizer;
  emit: Emit;
  roles: Pick<RoleStore, 'rolesOf'>;
  audit: AuditLog;
  sessions: SessionOwners;
  blobs: Storage;
}

/** Session recordings: parts stored as uploaded by nodes, metadata and a text index in the audit store. */
export class RecordingOps {
  private readonly blobs: Storage;

  constructor(private readonly d: RecordingOpsDeps) {
    this.blobs = d.blobs;
  }

  private check(sessionId: string): void {
    if (!SID.test(sessionId)) throw new BadParameter(`"${sessionId}" is not a session ID`);
  }

  /**
   * Checks that `who` may write the recording of `sessionId`: only a node, only the node that ran the session (bound
   * at its first word about it), and returns what is stored of it so far. Refusals are audited.
   */
  private async writer(who: Identity, sessionId: string): Promise<RecordingMeta | undefined> {
    await this.d.authz.authorize(who, 'recording', 'create');
    this.check(sessionId);
    try {
      if (who.kind !== 'node') throw new AccessDenied('recordings are written only by the node that ran the session');
      const stored = await this.d.audit.store.getRecording(sessionId);
      // What is stored names its node too (bindings expire; recordings made before bindings existed have none).
      if (stored && stored.serverId !== who.name) throw notOwner(sessionId, who.name);
      await this.d.sessions.claim(sessionId, who.name);
      return stored;
    } catch (err) {
      if (err instanceof AccessDenied) throw await this.refused(who, sessionId, 'recording.create', err.message);
      throw err;
    }
  }

  /** Audits a refused recording access and returns the error to throw. */
  private async refused(who: Identity, sessionId: string, action: string, error: string): Promise<AccessDenied> {
    await this.d.emit({ type: 'auth.attempt', success: false, user: who.name, session_id: sessionId, action, error });
    return new AccessDenied(error);
  }

  /** The refusal of any change to a final recording. */
  private frozen(who: Identity, stored: RecordingMeta): Promise<AccessDenied> {
    const error = `recording ${stored.sessionId} is ${stored.status} and can no longer be changed`;
    return this.refused(who, stored.sessionId, 'recording.create', error);
  }

  /**
   * Stores part `n` of a recording for the node that ran the session. A retried part replaces itself while the
   * session is open; once the recording is final, resending the identical part is a no-op and any other is refused.
   */
  async putPart(who: Identity, sessionId: string, n: number, data: Buffer): Promise<void> {
    const stored = await this.writer(who, sessionId);
    if (stored && FINAL.has(stored.status)) {
      const have = await this.blobs.getItemRaw<Buffer | Uint8Array | string>(partKey(sessionId, n));
      if (have !== null && have !== undefined && Buffer.from(have).equals(data)) return;
      throw await this.frozen(who, stored);
    }
    try {
      await this.blobs.setItemRaw(partKey(sessionId, n), data);
    } catch (err) {
      throw new Unavailable(`the recordings store rejected part ${n} of ${sessionId}: ${describe(err)}`);
    }
  }

  /**
   * Records a session's metadata for the node that ran it (its host ID is the server ID, whatever the body said); a
   * finished session also gets its output indexed for search. A final recording's metadata never changes.
   */
  async putMeta(who: Identity, sent: RecordingMeta): Promise<void> {
    const stored = await this.writer(who, sent.sessionId);
    const meta = { ...sent, serverId: who.name };
    if (stored && FINAL.has(stored.status)) {
      if (sameMeta(stored, meta)) return;
      throw await this.frozen(who, stored);
    }
    const store = this.d.audit.store;
    if (meta.status === 'failed') {
      log.error('a node could not upload a recording', { session: meta.sessionId, error: meta.error });
    }
    // A final recording is indexed before it is stored as final, so one whose parts are missing never freezes.
    const text = FINAL.has(meta.status) ? plainText(await this.events(meta)) : undefined;
    await store.putRecording(meta);
    if (text !== undefined) await store.putRecordingText(meta.sessionId, text);
  }

  private async events(meta: RecordingMeta): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    for (let n = 1; n <= meta.parts; n++) {
      const raw = await this.blobs.getItemRaw<Buffer | Uint8Array | string>(partKey(meta.sessionId, n));
      if (raw === null || raw === undefined) throw new NotFound(`part ${n} of recording ${meta.sessionId} is missing`);
      out.push(...parsePart(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8')));
    }
    return out;
  }

  /**
   * Whose recordings `who` may list or play: undefined for every session (admins, system identities the grants allow,
   * users whose roles allow `verb` on recording), or a user name for a user who sees only their own sessions.
   */
  private async scope(who: Identity, verb: 'list' | 'read'): Promise<string | undefined> {
    if (who.kind === 'user' && recordingScope(await this.d.roles.rolesOf(who.roles), verb) === 'own') {
      await this.d.authz.refuseLocked(who);
      return who.name;
    }
    await this.d.authz.authorize(who, 'recording', verb);
    return undefined;
  }

  /** Recordings newest first: every one, or only the caller's own sessions (see `scope`). */
  async list(who: Identity, limit = 1000): Promise<RecordingMeta[]> {
    const user = await this.scope(who, 'list');
    return this.d.audit.store.listRecordings(limit, user);
  }

  /** A recording's metadata and events, for `tp play`; a user who sees only their own is refused anyone else's. */
  async get(who: Identity, sessionId: string): Promise<{ meta: RecordingMeta; events: RecordedEvent[] }> {
    const user = await this.scope(who, 'read');
    this.check(sessionId);
    const meta = await this.d.audit.store.getRecording(sessionId);
    if (!meta) throw new NotFound(`no recording of session ${sessionId} (see \`tp recordings ls\`)`);
    if (user !== undefined && meta.user !== user) {
      const error = `session ${sessionId} is not one of yours: your roles let you play only your own sessions`;
      throw await this.refused(who, sessionId, 'recording.read', error);
    }
    return { meta, events: await this.events(meta) };
  }

  /** Sessions whose output contains `text`, among those the caller may list. */
  async search(who: Identity, text: string, limit = 100): Promise<RecordingMeta[]> {
    const user = await this.scope(who, 'list');
    if (text.length < 3) throw new BadParameter('search for at least 3 characters');
    return this.d.audit.store.searchRecordings(text, limit, user);
  }
}
