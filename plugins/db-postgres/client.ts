// The PostgreSQL client side of `tp db` and `tp proxy db --tunnel`: how psql and libpq-based tools reach a local
// tunnel. The tunnel is plain text on loopback (the TLS and the user's certificate are tp's), so sslmode=disable.
import type { LocalEndpoint, PluginClient } from '../../core/plugin/types.ts';
import { errorResponse, SQLSTATE } from './wire.ts';

/** One libpq keyword value, quoted when it holds a space, quote or backslash (libpq's conninfo rules). */
function conninfoValue(value: string): string {
  return value !== '' && !/[\s'\\]/.test(value) ? value : `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** The libpq connection string for the tunnel (`host=127.0.0.1 port=P user=U dbname=D sslmode=disable`). */
export function conninfo(at: LocalEndpoint): string {
  const parts: [string, string][] = [
    ['host', at.host],
    ['port', String(at.port)],
    ['user', at.user],
  ];
  if (at.database) parts.push(['dbname', at.database]);
  parts.push(['sslmode', 'disable']);
  return parts.map(([k, v]) => `${k}=${conninfoValue(v)}`).join(' ');
}

/** A string quoted for a POSIX shell (single quotes; an embedded quote closes, escapes and reopens). */
const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

const client: PluginClient = {
  command: (at, extra) => ({ program: 'psql', args: [conninfo(at), ...extra] }),
  connectHint: (at) => `psql ${shellQuote(conninfo(at))}`,
  env: (at) => ({
    PGHOST: at.host,
    PGPORT: String(at.port),
    PGUSER: at.user,
    ...(at.database && { PGDATABASE: at.database }),
    PGSSLMODE: 'disable',
  }),
  refusal: (message) => errorResponse({ code: SQLSTATE.invalidAuthorization, message: `tp: ${message}` }),
};

export default client;
