import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { connect, type TLSSocket } from 'node:tls';
import { joinViaProxy } from '../../core/agent/join.ts';
import { ApiClient } from '../../core/api/client.ts';
import { AckSchema } from '../../core/api/schemas.ts';
import { profileKeysDir } from '../../core/client/profile.ts';
import { parseHostPort } from '../../core/net/index.ts';
import { INITIAL_WINDOW, T_GOAWAY } from '../../core/tunnel/muxFrame.ts';
import { waitFor } from '../helpers/cluster.ts';
import { FakeTunnelPeer, rssAfterGc } from '../helpers/fakeTunnelPeer.ts';
import { type FixtureUser, me, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

/**
 * Issue 15, finding 6, as it was done: an agent joined with an ordinary node token holds a `tp-tunnel` to the real
 * proxy and floods a relay stream whose client never reads. Before the fix the proxy buffered all of it
 * (125 MB -> 1.49 GB in 1.6 s); now the proxy closes that tunnel at the first byte beyond the stream's window.
 */

const MiB = 1024 * 1024;
let f: SshFixture;
let alice: FixtureUser;
beforeAll(async () => {
  f = await startSshFixture([]);
  alice = await f.user('alice', ['ops']);
});
afterAll(async () => f.close());

/** Opens a TLS connection to the proxy with a client certificate and one ALPN protocol. */
async function dialProxy(alpn: string, tls: { cert: string; key: string; ca: string }): Promise<TLSSocket> {
  const [host, port] = parseHostPort(f.cluster.proxy.addr);
  const sock = connect({ host, port, ...tls, ALPNProtocols: [alpn], checkServerIdentity: () => undefined });
  await new Promise<void>((resolve, reject) => {
    sock.once('secureConnect', () => resolve());
    sock.once('error', reject);
  });
  return sock;
}

test("a fake agent flooding a relay stream is cut off at its window; the proxy's memory stays bounded", async () => {
  const { token } = await f.cluster.auth.client.createToken({
    roles: ['node'],
    ttlMs: 600_000,
  });
  const id = await joinViaProxy({ proxy: f.cluster.proxy.addr, token, role: 'node', hostName: 'flooder' });
  const nodeTls = { cert: id.tlsCert, key: id.tlsKey, ca: id.tlsCa.join('') };
  const agent = new FakeTunnelPeer(await dialProxy('tp-tunnel', nodeTls));
  await waitFor('the fake tunnel to register', () => f.cluster.proxy.tunnels.has(id.hostId));
  await new ApiClient([f.cluster.proxy.addr], nodeTls).post(AckSchema, '/webapi/agent/heartbeat', {
    name: 'flooder',
    labels: {},
    version: 'test',
  });

  // A relay client that asks for the node and then never reads a byte.
  const keys = profileKeysDir(f.cluster.proxy.addr, alice.home);
  const client = await dialProxy('tp-ssh', {
    cert: readFileSync(`${keys}/tls.crt`, 'utf8'),
    key: readFileSync(`${keys}/tls.key`, 'utf8'),
    ca: readFileSync(`${keys}/cas.pem`, 'utf8'),
  });
  client.on('error', () => undefined);
  client.write(`${JSON.stringify({ v: 1, node: 'flooder', login: me })}\n`);
  client.pause();
  const stream = await agent.openedStream();

  const before = rssAfterGc();
  let peak = before;
  const sent = await agent.flood(stream, 512 * MiB, INITIAL_WINDOW, () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  });
  await waitFor('the proxy to close the tunnel', () => agent.closed);
  expect(agent.frames.some((fr) => fr.type === T_GOAWAY)).toBe(true);
  expect(f.cluster.proxy.tunnels.has(id.hostId)).toBe(false);
  expect(sent).toBeLessThan(512 * MiB);
  expect((peak - before) / MiB).toBeLessThan(64);
  client.destroy();
});
