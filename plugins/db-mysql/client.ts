// The MySQL/MariaDB client side of `tp db` and `tp proxy db --tunnel`: how the mariadb (or mysql) client reaches a
// local tunnel. The tunnel is plain text on loopback (the TLS and the user's certificate are tp's), so --skip-ssl.
import type { LocalEndpoint, PluginClient } from '../../core/plugin/types.ts';
import { buildErr, framePacket, MYSQL_ERROR } from './wire.ts';

/** The stock client on PATH: MariaDB's `mariadb`, else `mysql`. */
function program(): string {
  return Bun.which('mariadb') ? 'mariadb' : 'mysql';
}

/** A string quoted for a POSIX shell when it needs it. */
const shellWord = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

/** The client's arguments for the tunnel; TCP always (`localhost` would mean the Unix socket to mariadb). */
function connectArgs(at: LocalEndpoint): string[] {
  return ['-h', at.host, '-P', String(at.port), '-u', at.user, '--protocol=TCP', '--skip-ssl'];
}

const client: PluginClient = {
  command: (at, extra) => ({
    program: program(),
    args: [...connectArgs(at), ...(at.database ? [`--database=${at.database}`] : []), ...extra],
  }),
  connectHint: (at) => [program(), ...connectArgs(at), ...(at.database ? [at.database] : [])].map(shellWord).join(' '),
  env: (at) => ({ MYSQL_HOST: at.host, MYSQL_TCP_PORT: String(at.port) }),
  // In place of the server greeting: the client prints `ERROR 1045 (28000): tp: <message>`.
  refusal: (message) => framePacket(buildErr(MYSQL_ERROR.accessDenied, `tp: ${message}`), 0),
};

export default client;
