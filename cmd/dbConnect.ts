// `tp db connect`'s client run: the protocol's stock client against the tunnel, with the terminal handed over.
import { constants } from 'node:os';
import { NotFound } from '../core/errors.ts';
import type { DbTunnel } from './dbTunnel.ts';

/** Ignores a signal while the client runs: Ctrl+C at the terminal is the client's (psql cancels the query with it). */
function leaveToClient(): void {
  // Nothing to do: the client, in the same process group, gets the signal and decides.
}

/**
 * Runs the plugin's client (stdio inherited) against the tunnel with the user's `extra` arguments and resolves with
 * its exit status (128 + signal number when a signal ended it). SIGTERM to tp is passed on to the client.
 */
export async function runClient(t: DbTunnel, extra: string[]): Promise<number> {
  const { program, args } = t.target.plugin.client.command(t.at, extra);
  if (!Bun.which(program))
    throw new NotFound(
      `${program} is not installed (or not on PATH): install it, or run tp proxy db ${t.target.db.name} --tunnel ` +
        'and connect with a client of your own',
      { program },
    );
  const child = Bun.spawn([program, ...args], { stdio: ['inherit', 'inherit', 'inherit'] });
  const forward = () => child.kill('SIGTERM');
  process.on('SIGINT', leaveToClient);
  process.on('SIGTERM', forward);
  try {
    const code = await child.exited;
    const sig = child.signalCode;
    if (sig === null) return code;
    return 128 + (typeof sig === 'number' ? sig : (constants.signals[sig] ?? 0));
  } finally {
    process.off('SIGINT', leaveToClient);
    process.off('SIGTERM', forward);
  }
}
