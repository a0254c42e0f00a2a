/** Stops a session's server thread from a side connection, so a statement does not outlive its tp session. */

import { Unavailable } from '../../../core/errors.ts';
import { CLIENT, COM, framePacket, parseErr } from '../wire.ts';
import { greet, sendSecureResponse, type UpstreamTls } from './upstream.ts';

/** How long the side connection may take, all told. */
export const KILL_TIMEOUT_MS = 5_000;

/**
 * Logs in as `dbUser` with the session's own certificate and runs `KILL CONNECTION <threadId>` (a user may kill
 * its own threads), so a running statement stops with the session instead of holding locks until it finishes.
 * Resolves once the server answered; rejects with Unavailable naming what failed.
 */
export async function killThread(
  server: { host: string; port: number },
  tls: UpstreamTls,
  dbUser: string,
  threadId: number,
): Promise<void> {
  const signal = AbortSignal.timeout(KILL_TIMEOUT_MS);
  const g = await greet(server.host, server.port, signal);
  const caps = CLIENT.PROTOCOL_41 | CLIENT.SECURE_CONNECTION | CLIENT.PLUGIN_AUTH | CLIENT.LONG_FLAG;
  const response = {
    capabilities: (caps & g.greeting.capabilities) >>> 0,
    maxPacketSize: 1 << 24,
    charset: g.greeting.charset,
    mariadbCapabilities: 0,
    username: dbUser,
    authResponse: Buffer.alloc(0),
    authPluginName: 'mysql_native_password',
  };
  const up = await sendSecureResponse(g, response, 1, tls, signal);
  try {
    const login = await up.fromServer.next(signal);
    const refused = parseErr(login.payload);
    if (login.payload[0] !== 0x00) {
      throw new Unavailable(
        `could not log in to stop thread ${threadId}: ${refused?.message ?? 'authentication asked for more'}`,
      );
    }
    up.server.write(framePacket(Buffer.from([COM.QUERY, ...Buffer.from(`KILL CONNECTION ${threadId}`)]), 0));
    const answer = parseErr((await up.fromServer.next(signal)).payload);
    // 1094 ER_NO_SUCH_THREAD: it had already ended, which is what was wanted.
    if (answer && answer.code !== 1094) throw new Unavailable(`KILL CONNECTION ${threadId} failed: ${answer.message}`);
  } finally {
    up.fromServer.detach();
    up.server.destroy();
  }
}
