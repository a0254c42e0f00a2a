// One PostgreSQL session's bytes, both ways, after the StartupMessage went to the server: the server's startup
// answer is read (cancel key swapped for tp's, refusal or readiness reported), then everything passes through with
// backpressure; client messages are framed for the audit. tp can end the session with an ErrorResponse of its own.
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { describe } from '../../core/errors.ts';
import { type ClientEvent, ClientFramer } from './clientFrames.ts';
import { QueryAudit, type QueryFields } from './queryAudit.ts';
import { FrameTracker, StartupAnswerReader } from './serverFrames.ts';
import { type ErrorFields, type ErrorSpec, errorResponse, SQLSTATE } from './wire.ts';

/** What the relay tells the session as it goes. */
export interface RelayHooks {
  /** The server's BackendKeyData; returns the message to give the client instead. */
  backendKey(pid: number, secret: Buffer): Buffer;
  /** The server refused the startup (an ErrorResponse before ReadyForQuery). */
  refused(fields: ErrorFields): void;
  /** The first ReadyForQuery: the session is up. */
  ready(): void;
  /** A query the client runs. */
  query(q: QueryFields): void;
}

/** How the session ended: `error` says why when it was not a clean close. */
export interface RelayEnd {
  error?: string;
}

/** How long the server gets to close after tp or the client ended the session. */
const CLOSE_GRACE_MS = 5_000;

/** Relays one session between `client` (the plugin stream) and `server` (TLS to the database). */
export class PgRelay {
  private readonly framer = new ClientFramer();
  /** ReadyForQuery ('Z') answers each Query, Sync and FunctionCall: one fewer outstanding. */
  private readonly tracker = new FrameTracker((code) => {
    if (code === 0x5a && this.outstanding > 0) this.outstanding--;
  });
  /** Requests sent that the server has not yet answered with ReadyForQuery. */
  private outstanding = 0;
  private startup: StartupAnswerReader | undefined = new StartupAnswerReader();
  private readonly audit: QueryAudit;
  private error: string | undefined;
  private ending = false;
  private readonly done: Promise<RelayEnd>;

  constructor(
    private readonly client: Duplex,
    private readonly server: TLSSocket,
    private readonly hooks: RelayHooks,
  ) {
    this.audit = new QueryAudit((q) => hooks.query(q));
    this.done = new Promise<RelayEnd>((resolve) => {
      server.once('close', () => {
        if (!client.destroyed) client.end();
        resolve(this.error ? { error: this.error } : {});
      });
    });
  }

  /** Starts relaying; `rest` is what the client sent after its StartupMessage. Resolves when the server side closed. */
  run(rest: Buffer): Promise<RelayEnd> {
    const { client, server } = this;
    server.on('data', (chunk: Buffer) => this.fromServer(chunk));
    server.on('end', () => this.closeBoth());
    server.on('error', (err) => this.fail(`the database connection failed: ${err.message}`));
    client.on('data', (chunk: Buffer) => this.fromClient(chunk));
    client.on('end', () => {
      const cut = this.framer.partial();
      if (cut) this.fail(`the client closed the connection in the middle of a truncated ${cut}`);
      else this.closeBoth();
    });
    client.on('error', (err) => this.fail(`the client connection failed: ${err.message}`));
    client.on('close', () => this.closeBoth());
    if (rest.length) this.fromClient(rest);
    server.resume();
    client.resume();
    return this.done;
  }

  /** True while the server works on something the client asked (a query whose ReadyForQuery has not come). */
  get busy(): boolean {
    return this.outstanding > 0;
  }

  /** Ends the session from tp's side: `spec` goes to the client as an ErrorResponse when it fits between messages. */
  end(spec: ErrorSpec): void {
    if (this.ending) return;
    this.error ??= spec.message;
    if (!this.client.destroyed && this.toClientAtBoundary()) this.client.write(errorResponse(spec));
    this.closeBoth();
  }

  /** Counts the client messages the server answers with ReadyForQuery: Query, Sync, FunctionCall. */
  private countRequests(e: ClientEvent): void {
    const code = e.kind === 'message' ? String.fromCharCode(e.message.raw[0]!) : e.code;
    if (code === 'Q' || code === 'S' || code === 'F') this.outstanding++;
  }

  private toClientAtBoundary(): boolean {
    return this.startup !== undefined || this.tracker.atBoundary;
  }

  private fail(why: string): void {
    this.error ??= why;
    this.closeBoth();
  }

  /** Ends both sides (once); a server that does not close in time is cut off. */
  private closeBoth(): void {
    if (this.ending) return;
    this.ending = true;
    this.client.end();
    this.server.end();
    const timer = setTimeout(() => this.server.destroy(), CLOSE_GRACE_MS);
    this.server.once('close', () => clearTimeout(timer));
  }

  private fromClient(chunk: Buffer): void {
    if (this.ending) return;
    let full = false;
    try {
      this.framer.push(
        chunk,
        (bytes) => {
          if (!this.server.write(bytes)) full = true;
        },
        (e) => {
          this.countRequests(e);
          this.audit.observe(e);
        },
      );
    } catch (err) {
      this.end({ code: SQLSTATE.protocolViolation, message: `tp: ${describe(err)}` });
      return;
    }
    if (full) this.waitDrain(this.client, this.server);
  }

  private fromServer(chunk: Buffer): void {
    if (this.ending) return;
    try {
      const full = this.startup ? this.startupAnswer(chunk) : this.passThrough(chunk);
      if (full) this.waitDrain(this.server, this.client);
    } catch (err) {
      this.end({
        code: SQLSTATE.protocolViolation,
        message: `tp: the database server broke the protocol: ${describe(err)}`,
      });
    }
  }

  /** Before the first ReadyForQuery: whole messages, the cancel key swapped. True when the client is full. */
  private startupAnswer(chunk: Buffer): boolean {
    const { messages, rest } = this.startup!.push(chunk);
    let ok = true;
    for (const m of messages) {
      if (m.type === 'BackendKeyData') ok = this.client.write(this.hooks.backendKey(m.pid, m.secret)) && ok;
      else ok = this.client.write(m.raw) && ok;
      if (m.type === 'ErrorResponse') this.hooks.refused(m.fields);
      if (m.type === 'ReadyForQuery') this.hooks.ready();
    }
    if (rest) {
      this.startup = undefined;
      if (rest.length) ok = this.passThrough(rest) && ok;
    }
    return !ok;
  }

  private passThrough(chunk: Buffer): boolean {
    this.tracker.track(chunk);
    return !this.client.write(chunk);
  }

  /** Stops reading `from` until `to` has drained its buffer (one wait at a time). */
  private waitDrain(from: Duplex, to: Duplex): void {
    if (from.isPaused()) return;
    from.pause();
    to.once('drain', () => {
      if (!this.ending) from.resume();
    });
  }
}
