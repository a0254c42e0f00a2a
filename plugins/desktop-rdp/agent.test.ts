// The RDP plugin's agent side against a real xrdp (TLS security) fronting a real Xvnc: the RDCleanPath exchange a
// browser's IronRDP does, the server the agent dials whatever the client names, refusals as RDCleanPath errors.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startXrdp, type Xrdp, xrdpMissing } from '../../test/fixtures/xrdp.ts';
import { waitFor } from '../../test/helpers/cluster.ts';
import { desktopRole } from '../../test/helpers/desktopAgentHarness.ts';
import { type RdpHarness, startRdpHarness } from '../../test/helpers/rdpAgentHarness.ts';
import { cleanPathRequest, connectionRequest, readAnswer } from '../../test/helpers/rdpClient.ts';
import { clientInfoData, connectMcs, sendData } from '../../test/helpers/rdpPdus.ts';
import { freePort } from '../../test/helpers/sshd.ts';
import { startXvnc, type Xvnc, xvncMissing } from '../../test/helpers/xvnc.ts';

const missing = xvncMissing ?? xrdpMissing;
if (missing) console.error(`\n!!! desktop-rdp agent tests are SKIPPED: ${missing}\n`);

let xvnc: Xvnc;
let xrdp: Xrdp;
let h: RdpHarness;

/** Opens a session on `harness` through RDCleanPath and MCS, then sends a Client Info PDU with `typed` credentials. */
async function logIn(harness: RdpHarness, typed: { user: string; password: string }, channels: string[] = []) {
  const sock = await harness.open();
  sock.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
  expect((await readAnswer(sock)).error).toBeUndefined();
  const { initiator } = await connectMcs(sock, channels);
  sock.write(sendData(initiator, 1003, clientInfoData(typed)));
  return sock;
}

/** xrdp's log lines since `from` (a line count taken before). */
const logSince = (from: number) => xrdp.log().split('\n').slice(from).join('\n');

beforeAll(async () => {
  if (missing) return;
  xvnc = await startXvnc({ colour: '#c03000' });
  xrdp = await startXrdp({ vncPort: xvnc.port });
  h = await startRdpHarness(xrdp.addr);
}, 30_000);

afterAll(async () => {
  await h?.close();
  await xrdp?.close();
  await xvnc?.close();
});

describe.skipIf(!!missing)('desktop-rdp agent: the RDCleanPath gateway', () => {
  test("the answer carries xrdp's X.224 Connection Confirm, its certificate chain and its address", async () => {
    const sock = await h.open();
    sock.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
    const a = await readAnswer(sock);
    expect(a.error).toBeUndefined();
    expect(a.version).toBe(3390);
    // TPKT, X.224 CC (0xD0), RDP_NEG_RSP selecting PROTOCOL_SSL: xrdp's own confirm, relayed.
    expect(a.x224![0]).toBe(3);
    expect(a.x224![5]! & 0xf0).toBe(0xd0);
    expect(a.x224!.subarray(-8)[0]).toBe(2);
    expect(a.x224!.readUInt32LE(a.x224!.length - 4)).toBe(1);
    expect(a.certChain).toEqual([xrdp.certDer]);
    expect(a.serverAddr).toBe(xrdp.addr);
    sock.destroy();
  });

  test('a forged destination still reaches the configured server only', async () => {
    // Something else listens where the client points; the agent must never dial it.
    let dialled = 0;
    const decoy = Bun.listen({
      hostname: '127.0.0.1',
      port: 0,
      socket: { open: () => void dialled++, data: () => undefined },
    });
    try {
      const sock = await h.open();
      const destination = `127.0.0.1:${decoy.port}`;
      sock.write(cleanPathRequest({ destination, x224: connectionRequest(3) }));
      const a = await readAnswer(sock);
      expect(a.serverAddr).toBe(xrdp.addr);
      expect(a.certChain).toEqual([xrdp.certDer]);
      expect(dialled).toBe(0);
      sock.destroy();
    } finally {
      decoy.stop(true);
    }
  });

  test('an unreachable server is an RDCleanPath error (connection refused), audited with the reason', async () => {
    const gone = await startRdpHarness(`127.0.0.1:${await freePort()}`);
    try {
      const sock = await gone.open();
      sock.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
      const a = await readAnswer(sock);
      expect(a.error).toEqual({ code: 1, http: undefined, wsa: 10061, tls: undefined });
      await waitFor('the refusal', () => gone.events.some((e) => e.type === 'desktop.session.start'));
      const e = gone.events.find((x) => x.type === 'desktop.session.start')!;
      expect(e).toMatchObject({ success: false, user: 'alice', desktop_name: 'win1', protocol: 'rdp' });
      expect(String(e.error)).toContain('desktop "win1": the RDP server at 127.0.0.1:');
      expect(String(e.error)).toContain('cannot be reached');
    } finally {
      await gone.close();
    }
  });

  test('a desktop the roles deny is refused with 403 before the server is dialled', async () => {
    let dialled = 0;
    const server = Bun.listen({
      hostname: '127.0.0.1',
      port: 0,
      socket: { open: () => void dialled++, data: () => undefined },
    });
    const denied = await startRdpHarness(`127.0.0.1:${server.port}`);
    denied.setRoles([desktopRole('no-linux', { deny: { desktop_labels: { os: 'linux' } } })]);
    try {
      const sock = await denied.open();
      sock.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
      expect((await readAnswer(sock)).error).toMatchObject({ code: 1, http: 403 });
      await waitFor('the audit', () =>
        denied.events.some((e) => e.type === 'desktop.session.start' && String(e.error).includes('not allowed')),
      );
      expect(dialled).toBe(0);
    } finally {
      await denied.close();
      server.stop(true);
    }
  });

  test('a certificate pin: the right one connects, a wrong one is a TLS error (bad certificate)', async () => {
    const pinned = await startRdpHarness(xrdp.addr, { cert_sha256: xrdp.certSha256.toUpperCase() });
    const wrong = await startRdpHarness(xrdp.addr, { cert_sha256: 'ab'.repeat(32) });
    try {
      const ok = await pinned.open();
      ok.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
      expect((await readAnswer(ok)).certChain).toEqual([xrdp.certDer]);
      ok.destroy();
      const bad = await wrong.open();
      bad.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
      expect((await readAnswer(bad)).error).toMatchObject({ code: 1, tls: 42 });
    } finally {
      await pinned.close();
      await wrong.close();
    }
  });
});

describe.skipIf(!!missing)('desktop-rdp agent: the Client Info PDU', () => {
  test("agent credentials replace the typed ones, with autologon, as xrdp's own parser reads them", async () => {
    const passwordFile = join(xvnc.dir, 'rdp-pass');
    writeFileSync(passwordFile, 'agent-secret-pw\n');
    const agent = await startRdpHarness(xrdp.addr, { username: 'agentuser', password_file: passwordFile });
    try {
      const from = xrdp.log().split('\n').length;
      const sock = await logIn(agent, { user: 'mallory', password: 'typed-pw' });
      await waitFor('xrdp to read the Client Info', () => logSince(from).includes('Client supplied password'));
      expect(logSince(from)).toContain('Client requested auto logon.');
      expect(logSince(from)).toContain('Client supplied username: agentuser');
      expect(logSince(from)).not.toContain('mallory');
      await waitFor('the start', () => agent.events.some((e) => e.type === 'desktop.session.start'));
      expect(agent.events.find((e) => e.type === 'desktop.session.start')).toMatchObject({
        success: true,
        login: 'agentuser',
        protocol: 'rdp',
      });
      sock.destroy();
      await waitFor('the end', () => agent.events.some((e) => e.type === 'desktop.session.end'));
      expect(JSON.stringify(agent.events)).not.toContain('agent-secret-pw');
    } finally {
      await agent.close();
    }
  });

  test('typed credentials pass through (autologon set), and the typed login must be one the roles grant', async () => {
    h.setRoles([desktopRole('desk', { logins: ['alice'] })]);
    const from = xrdp.log().split('\n').length;
    const ok = await logIn(h, { user: 'alice', password: xvnc.password });
    await waitFor('xrdp to read the Client Info', () => logSince(from).includes('Client supplied password'));
    expect(logSince(from)).toContain('Client supplied username: alice');
    expect(logSince(from)).toContain('Client requested auto logon.');
    ok.destroy();
    const denied = await logIn(h, { user: 'administrator', password: 'x' });
    let closed = false;
    denied.once('close', () => {
      closed = true;
    });
    denied.resume();
    const refused = (e: Record<string, unknown>) =>
      e.type === 'desktop.session.start' && String(e.error).includes('"administrator"');
    await waitFor('the refusal', () => h.events.some(refused));
    expect(h.events.find(refused)).toMatchObject({ success: false, login: '', desktop_name: 'win1' });
    expect(String(h.events.find(refused)!.error)).toContain('login "administrator" on desktop "win1" is not allowed');
    await waitFor('the connection to close', () => closed);
  });

  test('with the clipboard denied, xrdp takes the renamed clipboard channel and the session goes on', async () => {
    h.setRoles([desktopRole('desk', { logins: ['alice'], clipboard: false })]);
    try {
      const from = xrdp.log().split('\n').length;
      const sock = await logIn(h, { user: 'alice', password: xvnc.password }, ['rdpsnd', 'cliprdr']);
      await waitFor('xrdp to read the Client Info', () => logSince(from).includes('Client supplied username: alice'));
      sock.destroy();
    } finally {
      h.setRoles([desktopRole('desk')]);
    }
  });

  test('a session ends within 1 s when its signal aborts (a lock landed), audited with the reason', async () => {
    const started = () => h.events.filter((e) => e.type === 'desktop.session.start' && e.success === true).length;
    const before = started();
    const sock = await logIn(h, { user: 'alice', password: xvnc.password });
    let closed = false;
    sock.once('close', () => {
      closed = true;
    });
    sock.resume();
    await waitFor('the start', () => started() > before);
    const t0 = Date.now();
    h.abortAll('user "alice" is locked');
    await waitFor('the session to close', () => closed, 1_000);
    expect(Date.now() - t0).toBeLessThan(1_000);
    await waitFor('the end', () =>
      h.events.some((e) => e.type === 'desktop.session.end' && e.reason === 'user "alice" is locked'),
    );
  });
});
