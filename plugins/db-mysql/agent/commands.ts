/**
 * The command phase of one MySQL session on the agent: every client command is parsed, checked (database changes,
 * user changes) and audited before it goes to the server; the server's answers stream back unbuffered.
 */

import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { BadParameter } from '../../../core/errors.ts';
import { COM, type Command, type Packet, PacketReader, PreparedStatements, parseCommand } from '../wire.ts';
import type { QueryCommand, SessionAudit } from './audit.ts';
import { type PacketHead, PacketHeads } from './packetHeads.ts';
import { abortError } from './packetSource.ts';
import { AGENT_ERROR, DatabaseAccessDenied, messageOf, writeErr } from './replies.ts';
import { useTargets } from './useStatements.ts';

/** The largest command the agent reads (and holds) whole: 64 MiB, four times MariaDB's default max_allowed_packet. */
export const COMMAND_MAX_PACKET = 64 * 1024 * 1024;
/** COM_STMT_BULK_EXECUTE (MariaDB): its parameter arrays are not decoded, so tp does not relay it. */
const COM_STMT_BULK_EXECUTE = 0xfa;

/** What the command phase needs from the session around it. */
export interface CommandsInput {
  client: Duplex;
  server: TLSSocket;
  /** Bytes each side sent past the end of authentication. */
  clientRest: Buffer;
  serverRest: Buffer;
  audit: SessionAudit;
  /** Throws a refusal unless the roles allow `dbName` as the session's database. */
  authorizeDb(dbName: string): void;
  /** The server accepted `dbName` as the session's database. */
  onDatabase(dbName: string): void;
  signal: AbortSignal;
}

/** The first answer the relay waits for before it passes on the client's next command. */
type Awaiting = { kind: 'prepare' } | { kind: 'database'; name: string };

/** How a command phase ended: why (undefined when the client closed it), and whether it sent COM_QUIT first. */
export interface RelayEnd {
  reason: string | undefined;
  quit: boolean;
}

/**
 * Relays commands until either side closes or `signal` aborts; resolves with how the session ended. Commands are passed on one at a time where their answer matters to the relay
 * (COM_STMT_PREPARE, whose statement ID its executes name; a database change), holding the client meanwhile.
 */
export function relayCommands(i: CommandsInput): Promise<RelayEnd> {
  return new CommandRelay(i).done;
}

class CommandRelay {
  readonly done: Promise<RelayEnd>;
  private finish!: (end: RelayEnd) => void;
  private readonly fromClient = new PacketReader({ maxPayloadLength: COMMAND_MAX_PACKET });
  private readonly statements = new PreparedStatements();
  private readonly heads = new PacketHeads((h) => this.onServerPacket(h));
  private readonly queue: Packet[] = [];
  private awaiting: Awaiting | undefined;
  private lastServerSeq = -1;
  /** A command was passed on (its answer may still be coming); `answering`: some of the answer has come. */
  private inFlight = false;
  private answering = false;
  private serverFull = false;
  private quit = false;
  private ended = false;

  constructor(private readonly i: CommandsInput) {
    this.done = new Promise((resolve) => {
      this.finish = resolve;
    });
    const { client, server, signal } = i;
    const onAbort = () => {
      const why = `the session was ended: ${abortError(signal).message}`;
      this.tellClient(why);
      this.end(why);
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    void this.done.then(() => signal.removeEventListener('abort', onAbort));
    server.on('data', (chunk: Buffer) => this.fromServerChunk(chunk));
    server.on('end', () => this.end(this.quit ? undefined : 'the database closed the connection'));
    server.on('close', () => this.end(this.quit ? undefined : 'the database closed the connection'));
    server.on('error', (err) => this.end(`the database connection failed: ${err.message}`));
    server.on('drain', () => {
      this.serverFull = false;
      this.flowControl();
    });
    client.on('data', (chunk: Buffer) => this.fromClientChunk(chunk));
    client.on('end', () => this.clientGone());
    client.on('close', () => this.clientGone());
    client.on('error', (err) => this.end(`the client connection failed: ${err.message}`));
    client.on('drain', () => server.resume());
    if (i.serverRest.length) this.fromServerChunk(i.serverRest);
    if (i.clientRest.length) this.fromClientChunk(i.clientRest);
  }

  private fromServerChunk(chunk: Buffer): void {
    if (this.ended) return;
    const wasAwaiting = this.awaiting !== undefined;
    this.heads.push(chunk);
    if (!this.i.client.write(chunk)) this.i.server.pause();
    if (wasAwaiting && !this.awaiting) this.pump();
  }

  /** Notes where responses start; the first packet of the awaited answer settles it. */
  private onServerPacket(h: PacketHead): void {
    const ambiguous = this.lastServerSeq === 0; // a long answer wrapped past 255: its next packet also has seq 1
    this.lastServerSeq = h.seq;
    this.answering = true;
    const a = this.awaiting;
    if (!a || h.seq !== 1) return;
    const kind = h.first[0];
    if (a.kind === 'prepare') {
      if (ambiguous && !(kind === 0xff || (kind === 0x00 && h.length === 12))) return;
      try {
        this.statements.answered(h.first);
      } catch (err) {
        this.end(messageOf(err));
        return;
      }
    } else {
      if (ambiguous && kind !== 0x00 && kind !== 0xff) return;
      if (kind === 0x00) this.i.onDatabase(a.name);
    }
    this.awaiting = undefined;
  }

  private fromClientChunk(chunk: Buffer): void {
    if (this.ended) return;
    try {
      this.queue.push(...this.fromClient.push(chunk));
    } catch (err) {
      // Too large or malformed framing: nothing after it can be trusted to be a command.
      writeErr(this.i.client, 1, err);
      this.end(messageOf(err));
      return;
    }
    this.pump();
  }

  private pump(): void {
    while (!this.ended && !this.awaiting && this.queue.length) this.handle(this.queue.shift()!);
    this.flowControl();
  }

  /** Holds the client while a command waits for its answer or the server's socket is full. */
  private flowControl(): void {
    if (this.ended) return;
    if (this.awaiting || this.serverFull) this.i.client.pause();
    else this.i.client.resume();
  }

  private forward(p: Packet): void {
    const first = p.payload[0];
    if (first !== COM.STMT_CLOSE && first !== COM.QUIT && first !== COM.STMT_SEND_LONG_DATA) {
      this.inFlight = true;
      this.answering = false;
    }
    if (!this.i.server.write(p.raw)) this.serverFull = true;
  }

  /**
   * Tells a client waiting on a command why its session ended, as an ERR where its next packet belongs (the first
   * of the answer, or after the last whole packet of one under way); an idle client just sees the connection close.
   */
  private tellClient(why: string): void {
    if (!this.inFlight || !this.heads.atBoundary) return;
    const seq = this.answering ? (this.lastServerSeq + 1) & 0xff : 1;
    writeErr(this.i.client, seq, new DatabaseAccessDenied(why, AGENT_ERROR.connectionKilled));
  }

  private handle(p: Packet): void {
    const first = p.payload[0];
    if (first === COM.CHANGE_USER) {
      this.refuseChangeUser(p);
      return;
    }
    if (first === COM_STMT_BULK_EXECUTE) {
      writeErr(this.i.client, p.seq + 1, new BadParameter('COM_STMT_BULK_EXECUTE is not supported through tp'));
      return;
    }
    let cmd: Command;
    try {
      cmd = parseCommand(p.payload, this.statements);
    } catch (err) {
      // Malformed to tp's reading: audit what is known and let the server answer it.
      if (first === COM.STMT_EXECUTE) this.auditUnreadableExecute(p.payload, err);
      this.forward(p);
      return;
    }
    const audit = this.i.audit;
    switch (cmd.type) {
      case 'Query': {
        const targets = useTargets(cmd.sql);
        if (!this.allowed('COM_QUERY', cmd.sql, targets, p)) return;
        audit.query('COM_QUERY', cmd.sql);
        if (targets.length) this.awaiting = { kind: 'database', name: targets.at(-1)! };
        break;
      }
      case 'InitDb': {
        const text = `USE \`${cmd.database.replaceAll('`', '``')}\``;
        if (!this.allowed('COM_INIT_DB', text, [cmd.database], p)) return;
        audit.query('COM_INIT_DB', text);
        this.awaiting = { kind: 'database', name: cmd.database };
        break;
      }
      case 'StmtPrepare':
        audit.query('COM_STMT_PREPARE', cmd.sql);
        this.awaiting = { kind: 'prepare' };
        break;
      case 'StmtExecute':
        audit.query('COM_STMT_EXECUTE', cmd.sql ?? '', { params: cmd.params });
        break;
      case 'Quit':
        this.quit = true;
        break;
    }
    this.forward(p);
  }

  /** Checks each database a command switches to; a refusal is answered, audited and the command dropped. */
  private allowed(command: QueryCommand, text: string, databases: string[], p: Packet): boolean {
    for (const db of databases) {
      try {
        this.i.authorizeDb(db);
      } catch (err) {
        this.i.audit.query(command, text, { error: messageOf(err) });
        writeErr(this.i.client, p.seq + 1, err);
        return false;
      }
    }
    return true;
  }

  private refuseChangeUser(p: Packet): void {
    const end = p.payload.indexOf(0, 1);
    const wanted = p.payload.toString('utf8', 1, end < 0 ? Math.min(p.payload.length, 65) : end);
    const err = new DatabaseAccessDenied(
      `changing the database user inside a session is not allowed (COM_CHANGE_USER to "${wanted}"); ` +
        'connect again as that user',
      AGENT_ERROR.accessDenied,
      { db_user: wanted },
    );
    this.i.audit.query('COM_CHANGE_USER', `CHANGE USER ${JSON.stringify(wanted)}`, { error: err.message });
    writeErr(this.i.client, p.seq + 1, err);
    this.end(err.message);
  }

  private auditUnreadableExecute(payload: Buffer, err: unknown): void {
    const id = payload.length >= 5 ? payload.readUInt32LE(1) : undefined;
    const sql = id === undefined ? undefined : this.statements.get(id)?.sql;
    this.i.audit.query('COM_STMT_EXECUTE', sql ?? `(statement ${id ?? '?'}, not prepared through tp)`, {
      paramsError: messageOf(err),
    });
  }

  private clientGone(): void {
    const partial = this.fromClient.buffered;
    this.end(
      partial
        ? `the client closed the connection inside a packet (${partial} bytes of an unfinished packet)`
        : undefined,
    );
  }

  private end(reason: string | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.length = 0;
    this.i.server.destroy();
    this.i.client.end();
    this.finish({ reason, quit: this.quit });
  }
}
