// The audit store's writer thread: appends run in a Worker with its own SQLite connection, so a commit's fsync
// (synchronous=FULL) and its index updates never stall the process's event loop, where the proxy and the agent of an
// all-in-one cluster relay every session. Reads stay on the caller's connection (WAL lets both run at once).
import { describe, Unavailable } from '../errors.ts';

/** One audit row as the writer inserts it: id, time, type, user, session_id, json. */
export type AuditRow = [string, string, string, string | null, string | null, string];

type Request = { seq: number; op: 'open'; path: string } | { seq: number; op: 'append'; rows: AuditRow[] };
type Reply = { seq: number; added?: number; error?: string };

/**
 * The worker's whole program, sent to it as source text: it must stay self-contained (no imports, nothing from this
 * module's scope). It opens the file given by `open`, then inserts each `append` batch in one transaction.
 */
function writerMain(): void {
  const { Database } = require('bun:sqlite') as typeof import('bun:sqlite');
  let db: InstanceType<typeof Database> | undefined;
  let insert: ReturnType<InstanceType<typeof Database>['prepare']> | undefined;
  let failedOpen = '';
  const scope = globalThis as unknown as { onmessage: (e: MessageEvent) => void; postMessage(m: Reply): void };
  scope.onmessage = (e: MessageEvent) => {
    const m = e.data as Request;
    try {
      if (m.op === 'open') {
        failedOpen = `cannot open ${m.path}`;
        db = new Database(m.path, { strict: true });
        db.exec('PRAGMA journal_mode = WAL');
        db.exec('PRAGMA synchronous = FULL');
        db.exec('PRAGMA busy_timeout = 5000');
        insert = db.prepare(
          'INSERT OR IGNORE INTO audit_events (id, time, type, user, session_id, json) VALUES (?, ?, ?, ?, ?, ?)',
        );
        failedOpen = '';
        scope.postMessage({ seq: m.seq, added: 0 });
        return;
      }
      if (!db || !insert) throw new Error(failedOpen || 'the audit file is not open');
      const stmt = insert;
      const added = db.transaction((rows: AuditRow[]) => {
        let n = 0;
        for (const r of rows) n += stmt.run(...r).changes;
        return n;
      })(m.rows);
      scope.postMessage({ seq: m.seq, added });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (m.op === 'open') failedOpen = `cannot open ${m.path}: ${message}`;
      scope.postMessage({ seq: m.seq, error: message });
    }
  };
}

/** Appends audit rows to the SQLite file at `path` (its schema made already) from a thread of its own. */
export class AuditWriter {
  private worker: Worker | undefined;
  private seq = 0;
  /** Appends sent and not yet answered, by sequence number. */
  private readonly waiting = new Map<number, PromiseWithResolvers<number>>();

  constructor(private readonly path: string) {}

  /** Inserts `rows` in one transaction (rows whose id is known are skipped); resolves to how many were added. */
  append(rows: AuditRow[]): Promise<number> {
    return this.ask({ seq: ++this.seq, op: 'append', rows });
  }

  /** Waits for every append sent, then stops the thread; the next append starts a new one. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.waiting.values()].map((w) => w.promise));
    this.worker?.terminate();
    this.worker = undefined;
  }

  private ask(req: Request): Promise<number> {
    const w = this.worker ?? this.start();
    // The thread keeps the process alive only while it holds a write.
    if (this.waiting.size === 0) w.ref();
    const answer = Promise.withResolvers<number>();
    this.waiting.set(req.seq, answer);
    w.postMessage(req);
    return answer.promise;
  }

  private start(): Worker {
    const source = `(${writerMain.toString()})()`;
    const w = new Worker(URL.createObjectURL(new Blob([source], { type: 'application/javascript' })));
    w.onmessage = (e: MessageEvent) => {
      const r = e.data as Reply;
      const entry = this.waiting.get(r.seq);
      this.waiting.delete(r.seq);
      if (this.waiting.size === 0) w.unref();
      if (r.error !== undefined) entry?.reject(new Unavailable(`audit store write failed: ${r.error}`));
      else entry?.resolve(r.added ?? 0);
    };
    // A thread that dies fails what it held; the next append starts another.
    w.onerror = (e: ErrorEvent) => {
      if (this.worker === w) this.worker = undefined;
      const err = new Unavailable(`audit writer thread failed: ${describe(e.error ?? e.message)}`);
      for (const entry of this.waiting.values()) entry.reject(err);
      this.waiting.clear();
    };
    this.worker = w;
    w.postMessage({ seq: ++this.seq, op: 'open', path: this.path } satisfies Request);
    return w;
  }
}
