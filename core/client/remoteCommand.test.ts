import { afterAll, describe, expect, test } from 'bun:test';
import type { AddressInfo } from 'node:net';
import type { Client, Connection, Session } from 'ssh2';
import { encodeOpenSSHPrivateKey, generateKeyPair } from '../crypto/keys.ts';
import { Unavailable } from '../errors.ts';
import { ssh2 } from '../ssh/ssh2.ts';
import { runRemote } from './remoteCommand.ts';

// A node that lets anyone in, then does with each session request what the running test's `onSession` says.
let onSession: (conn: Connection, accept: () => Session) => void = (conn) => conn.end();
const server = new (ssh2().Server)(
  { hostKeys: [encodeOpenSSHPrivateKey(generateKeyPair('ed25519').privateKey)] },
  (conn: Connection) => {
    conn.on('authentication', (ctx) => ctx.accept());
    conn.on('session', (accept) => onSession(conn, accept));
    // A client the test ended mid-handshake is no failure of the node's.
    conn.on('error', (err) => void err);
  },
);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;
afterAll(() => server.close());

async function connected(): Promise<Client> {
  const client = new (ssh2().Client)();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve).once('error', reject);
    client.connect({ host: '127.0.0.1', port, username: 'tester' });
  });
  return client;
}

/** What runRemote settled with (a value or an error), or 'still waiting' after 5 s. */
async function outcome(client: Client, command: string): Promise<unknown> {
  const waited = new Promise<string>((r) => setTimeout(() => r('still waiting after 5 s'), 5_000).unref());
  return Promise.race([runRemote(client, { command, pty: false }).catch((err: unknown) => err), waited]);
}

describe('runRemote', () => {
  test("returns the remote command's exit status", async () => {
    onSession = (_conn, accept) =>
      accept().on('exec', (acceptExec) => {
        const ch = acceptExec();
        ch.exit(3);
        ch.close();
      });
    const client = await connected();
    expect(await outcome(client, 'false')).toBe(3);
    client.end();
  });

  test('a connection cut before the session opens is an error, never a silent success', async () => {
    // The node (or the tunnel to it) goes away while the session request is in flight. ssh2 then drops the request
    // unanswered: before the fix the promise never settled, and `tp ssh` exited 0 having run nothing.
    onSession = (conn) => conn.end();
    const client = await connected();
    const got = await outcome(client, 'echo never');
    expect(got).toBeInstanceOf(Unavailable);
    expect((got as Error).message).toContain('cut before the session opened');
  });
});
