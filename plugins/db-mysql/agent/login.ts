/**
 * The connection phase of one MySQL session on the agent: greet the client with the server's own greeting (minus
 * TLS), read whom it wants to be, check that against the roles, then log in to the server over TLS with a
 * short-lived certificate for that user, relaying whatever authentication exchange the server asks for.
 */

import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { AccessDenied, BadParameter, Unavailable } from '../../../core/errors.ts';
import {
  buildInitialHandshake,
  CLIENT,
  clientOffer,
  framePacket,
  type HandshakeResponse,
  type InitialHandshake,
  parseErr,
  parseHandshakeResponse,
} from '../wire.ts';
import type { DbClientCert } from './clientCert.ts';
import { PacketSource } from './packetSource.ts';
import { writeErr } from './replies.ts';
import { greet, LOGIN_MAX_PACKET, sendSecureResponse, type UpstreamTls } from './upstream.ts';

/** Server packets an authentication exchange may take before tp gives up on it (switches, more-data rounds). */
const MAX_AUTH_ROUNDS = 8;

/** What the connection phase needs from the session around it. */
export interface LoginInput {
  client: Duplex;
  server: { host: string; port: number; tlsName: string; ca?: string[] };
  /** Defaults from the route (`tp proxy db --db-user/--db-name`) for a client that names neither. */
  defaults: { dbUser?: string; dbName?: string };
  /** Throws a refusal unless the roles let the session be `dbUser` (in `dbName`, when one is chosen). */
  authorize(dbUser: string, dbName: string | undefined): void;
  /** Called once user and database are known, before any credential is made (audit fields). */
  chosen(dbUser: string, dbName: string | undefined): void;
  /** A short-lived client certificate for `dbUser`. */
  certify(dbUser: string): Promise<DbClientCert>;
  signal: AbortSignal;
}

/** A session past authentication: the server connection and the bytes either side sent beyond it. */
export interface LoggedIn {
  server: TLSSocket;
  clientRest: Buffer;
  serverRest: Buffer;
  dbUser: string;
  dbName: string | undefined;
  /** The server's connection ID for this session (what `KILL` names). */
  threadId: number;
  /** The TLS settings the session logged in with (a side connection reuses them). */
  tls: UpstreamTls;
}

/** The server refused the login itself (its ERR, already relayed to the client). */
export class ServerRefused extends AccessDenied {}

/** The greeting tp shows the client: the server's, without TLS (tp carries it) and without LOCAL INFILE. */
function greetingFor(g: InitialHandshake): InitialHandshake {
  const offer = clientOffer(g);
  // LOAD DATA LOCAL turns the client's side into a file upload the relay would have to tell from commands.
  return { ...offer, capabilities: (offer.capabilities & ~CLIENT.LOCAL_FILES) >>> 0 };
}

/** The response tp sends the server: the client's, limited to what was offered, with the chosen names. */
function upstreamResponse(
  r: HandshakeResponse,
  offer: InitialHandshake,
  dbUser: string,
  dbName: string | undefined,
): HandshakeResponse {
  let capabilities = r.capabilities & offer.capabilities;
  if (dbName) capabilities |= CLIENT.CONNECT_WITH_DB;
  return {
    ...r,
    capabilities: capabilities >>> 0,
    mariadbCapabilities: (r.mariadbCapabilities & offer.mariadbCapabilities) >>> 0,
    username: dbUser,
    ...(dbName ? { database: dbName } : {}),
  };
}

/**
 * Runs the connection phase. Every refusal is answered to the client as an ERR packet at the right sequence id
 * and then thrown (the caller audits it); on success the client has the server's OK and the command phase starts.
 */
export async function logIn(i: LoginInput): Promise<LoggedIn> {
  const fromClient = new PacketSource(i.client, 'the client', LOGIN_MAX_PACKET);
  const reply = { seq: 0 }; // the sequence id the client expects from us next
  const sockets: { close(): void }[] = [];
  try {
    const g = await greet(i.server.host, i.server.port, i.signal);
    sockets.push({ close: () => g.tcp.destroy() });
    const offer = greetingFor(g.greeting);
    i.client.write(framePacket(buildInitialHandshake(offer), 0));

    const answer = await fromClient.next(i.signal);
    reply.seq = answer.seq + 1;
    if (answer.payload.length === 32 && answer.payload.readUInt32LE(0) & CLIENT.SSL) {
      throw new BadParameter('tp already encrypts this connection: connect without TLS (mariadb --skip-ssl)');
    }
    const response = parseHandshakeResponse(answer.payload);
    const dbUser = response.username || i.defaults.dbUser;
    const dbName = response.database || i.defaults.dbName || undefined;
    if (!dbUser) throw new AccessDenied('no database user given: connect with -u USER');
    i.chosen(dbUser, dbName);
    i.authorize(dbUser, dbName);
    const cert = await i.certify(dbUser);
    const tls = { cert: cert.cert, key: cert.key, ca: i.server.ca ?? cert.ca, host: i.server.tlsName };
    const up = await sendSecureResponse(
      g,
      upstreamResponse(response, offer, dbUser, dbName),
      answer.seq,
      tls,
      i.signal,
    );
    sockets.push({ close: () => up.server.destroy() });
    await relayAuth(i, reply, fromClient, up.fromServer, up.server);
    return {
      server: up.server,
      clientRest: fromClient.detach(),
      serverRest: up.fromServer.detach(),
      dbUser,
      dbName,
      threadId: g.greeting.connectionId,
      tls,
    };
  } catch (err) {
    if (!(err instanceof ServerRefused)) writeErr(i.client, reply.seq, err);
    for (const s of sockets) s.close();
    fromClient.detach();
    throw err;
  }
}

/**
 * Relays the authentication exchange until the server's OK or ERR, shifting sequence ids by the SSLRequest the
 * client never saw. The client may answer only after an auth switch or more-data packet, once per packet.
 */
async function relayAuth(
  i: LoginInput,
  reply: { seq: number },
  fromClient: PacketSource,
  fromServer: PacketSource,
  tls: TLSSocket,
) {
  let clientMayAnswer = false;
  for (let round = 0; round < MAX_AUTH_ROUNDS; round++) {
    const waits = [fromServer.whenReady(i.signal)];
    if (clientMayAnswer) waits.push(fromClient.whenReady(i.signal));
    await Promise.race(waits);
    if (clientMayAnswer && fromClient.hasPacket) {
      const c = await fromClient.next(i.signal);
      tls.write(framePacket(c.payload, c.seq + 1));
      reply.seq = c.seq + 1;
      clientMayAnswer = false;
      continue;
    }
    const p = await fromServer.next(i.signal);
    i.client.write(framePacket(p.payload, p.seq - 1));
    reply.seq = p.seq;
    const kind = p.payload[0];
    if (kind === 0x00) return;
    const err = parseErr(p.payload);
    if (err) throw new ServerRefused(`the database refused the login: ${err.message}`, err);
    if (kind !== 0xfe && kind !== 0x01) {
      throw new Unavailable(`the database sent an unexpected packet (0x${kind?.toString(16)}) during authentication`);
    }
    clientMayAnswer = true;
  }
  throw new Unavailable(`authentication took more than ${MAX_AUTH_ROUNDS} exchanges`);
}
