// The plugin conformance suite (core/plugin/conformance.ts) for desktop-rdp, through a real cluster: one agent
// serving a real xrdp (fronting a TigerVNC Xvnc) over its reverse tunnel, one direct agent serving the same server
// under another name, both given it with `--desktop NAME=rdp://...`.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Duplex } from 'node:stream';
import { type ConformanceHarness, conformanceChecks } from '../../core/plugin/conformance.ts';
import { ask, openTls } from '../../core/plugin/conformanceWire.ts';
import { startXrdp, type Xrdp, xrdpMissing } from '../../test/fixtures/xrdp.ts';
import { startTestCluster, type TestCluster } from '../../test/helpers/cluster.ts';
import { desktopConformanceHarness } from '../../test/helpers/desktopConformance.ts';
import { cleanPathRequest, connectionRequest, readAnswer } from '../../test/helpers/rdpClient.ts';
import { clientInfoData, connectMcs, sendData } from '../../test/helpers/rdpPdus.ts';
import { freePort } from '../../test/helpers/sshd.ts';
import { startXvnc, type Xvnc, xvncMissing } from '../../test/helpers/xvnc.ts';
import desktopPlugin from './index.ts';

const missing = xvncMissing ?? xrdpMissing;
if (missing) console.error(`\n!!! desktop-rdp conformance is SKIPPED: ${missing}\n`);

let cluster: TestCluster;
let xvnc: Xvnc;
let xrdp: Xrdp;
let harness: ConformanceHarness;

/**
 * One RDP session through tp up to the login: the RDCleanPath exchange (xrdp's certificate comes back), the MCS
 * connection with xrdp, and the Client Info PDU (alice, a login the roles grant), which starts the session.
 */
async function rdpExchange(sock: Duplex): Promise<void> {
  sock.write(cleanPathRequest({ destination: 'anything', x224: connectionRequest(3) }));
  const a = await readAnswer(sock);
  if (a.error) throw new Error(`RDCleanPath error ${JSON.stringify(a.error)}`);
  expect(a.certChain).toEqual([xrdp.certDer]);
  const { initiator } = await connectMcs(sock);
  sock.write(sendData(initiator, 1003, clientInfoData({ user: 'alice', password: xvnc.password })));
  // Left flowing, so the end of the stream is seen.
  sock.resume();
}

beforeAll(async () => {
  if (missing) return;
  xvnc = await startXvnc();
  xrdp = await startXrdp({ vncPort: xvnc.port });
  cluster = await startTestCluster({});
  harness = await desktopConformanceHarness(cluster, {
    protocol: 'rdp',
    names: { tunnel: 'win-tunnel', direct: 'win-direct' },
    flag: (name) => `${name}=rdp://${xrdp.addr}`,
    moreTunnelFlags: [`win-dead=rdp://127.0.0.1:${await freePort()}`],
    exercise: rdpExchange,
  });
}, 90_000);

afterAll(async () => {
  await cluster?.close();
  await xrdp?.close();
  await xvnc?.close();
});

describe.skipIf(!!missing)('plugin conformance: desktop-rdp', () => {
  for (const c of conformanceChecks(desktopPlugin, () => harness)) test(c.name, c.run, c.timeoutMs);

  test("the agent's RDCleanPath error crosses the tunnel and the proxy to the client", async () => {
    const sock = await openTls(harness.proxy.addr, 'tp-desktop-rdp', harness.proxy.ca, await harness.user());
    expect(await ask(sock, { v: 1, target: 'win-dead', principal: 'alice', route: { login: 'alice' } })).toMatchObject({
      ok: true,
    });
    sock.write(cleanPathRequest({ destination: 'win-dead', x224: connectionRequest(3) }));
    expect((await readAnswer(sock)).error).toMatchObject({ code: 1, wsa: 10061 });
    sock.destroy();
  });

  test('the resource heartbeats its protocol and whose credentials, no address', async () => {
    const r = await cluster.proxy.view.resolveResource('desktop', 'win-tunnel');
    expect(r.spec).toEqual({ protocol: 'rdp', credentials: 'user' });
    expect(JSON.stringify(r)).not.toContain(String(xrdp.port));
  });
});
