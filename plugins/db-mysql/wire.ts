/** The MySQL/MariaDB wire codec: packet framing, the connection phase, commands, and the packets tp writes itself. */
export {
  type BoundParam,
  buildErr,
  COM,
  type Command,
  isOk,
  MYSQL_ERROR,
  PreparedStatements,
  parseCommand,
  parseErr,
} from './wire/commands.ts';
export {
  buildHandshakeResponse,
  buildInitialHandshake,
  buildSslRequest,
  CLIENT,
  clientOffer,
  type HandshakeResponse,
  type InitialHandshake,
  MARIADB_CLIENT,
  parseHandshakeResponse,
  parseInitialHandshake,
} from './wire/handshake.ts';
export { framePacket, MAX_FRAGMENT, type Packet, PacketReader } from './wire/packets.ts';
export { type BinaryValue, MYSQL_TYPE } from './wire/values.ts';
