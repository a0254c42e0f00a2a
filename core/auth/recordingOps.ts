import type { Storage } from 'unstorage';
import { partKey } from '../audit/blobStore.ts';
import { parsePart, plainText, type RecordedEvent } from '../audit/recording.ts';
import type { RecordingMeta } from '../audit/store.ts';
import { BadParameter, describe, NotFound, Unavailable } from '../errors.ts';
import { log } from '../log.ts';
import type { Identity } from './identity.ts';
import type { AuthService } from './service.ts';

const SID = /^[0-9a-f-]{36}$/;

/** Session recordings: parts stored as uploaded by nodes, metadata and a text index in the audit store. */
export class RecordingOps {
  constructor(
    private readonly s: AuthService,
    private readonly blobs: Storage,
  ) {}

  private check(sessionId: string): void {
    if (!SID.test(sessionId)) throw new BadParameter(`"${sessionId}" is not a session ID`);
  }

  /** Stores part `n` of a recording (idempotent: a retried part replaces itself). */
  async putPart(who: Identity, sessionId: string, n: number, data: Buffer): Promise<void> {
    await this.s.authorize(who, 'recording', 'create');
    this.check(sessionId);
    try {
      await this.blobs.setItemRaw(partKey(sessionId, n), data);
    } catch (err) {
      throw new Unavailable(`the recordings store rejected part ${n} of ${sessionId}: ${describe(err)}`);
    }
  }

  /** Records a session's metadata; a finished session also gets its output indexed for search. */
  async putMeta(who: Identity, meta: RecordingMeta): Promise<void> {
    await this.s.authorize(who, 'recording', 'create');
    this.check(meta.sessionId);
    const store = this.s.deps.audit.store;
    if (meta.status === 'failed') {
      log.error('a node could not upload a recording', { session: meta.sessionId, error: meta.error });
    }
    await store.putRecording(meta);
    if (meta.status === 'complete' || meta.status === 'interrupted') {
      await store.putRecordingText(meta.sessionId, plainText(await this.events(meta)));
    }
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

  async list(who: Identity, limit = 1000): Promise<RecordingMeta[]> {
    await this.s.authorize(who, 'recording', 'list');
    return this.s.deps.audit.store.listRecordings(limit);
  }

  /** A recording's metadata and events, for `tp play`. */
  async get(who: Identity, sessionId: string): Promise<{ meta: RecordingMeta; events: RecordedEvent[] }> {
    await this.s.authorize(who, 'recording', 'read');
    this.check(sessionId);
    const meta = await this.s.deps.audit.store.getRecording(sessionId);
    if (!meta) throw new NotFound(`no recording of session ${sessionId} (see \`tp recordings ls\`)`);
    return { meta, events: await this.events(meta) };
  }

  /** Sessions whose output contains `text`. */
  async search(who: Identity, text: string, limit = 100): Promise<RecordingMeta[]> {
    await this.s.authorize(who, 'recording', 'list');
    if (text.length < 3) throw new BadParameter('search for at least 3 characters');
    return this.s.deps.audit.store.searchRecordings(text, limit);
  }
}
