// Attacks on the RDP desktop gateway (plugins/desktop-rdp), against the agent side with a stand-in RDP server that
// records what reaches it: a forged destination, input in a view-only session, oversize and malformed PDUs, and the
// agent's RDP password staying out of the audit and of everything the browser receives.
import { afterEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../helpers/cluster.ts';
import { desktopRole } from '../helpers/desktopAgentHarness.ts';
import { type RdpHarness, startRdpHarness } from '../helpers/rdpAgentHarness.ts';
import { cleanPathRequest, connectionRequest, readAnswer } from '../helpers/rdpClient.ts';
import {
  clientInfoData,
  connectInitial,
  connectPdusBlind,
  fastPathKey,
  sendData,
  shareData,
  slowPathInputData,
} from '../helpers/rdpPdus.ts';
import { startRdpStandIn } from '../helpers/rdpServerStandIn.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setUp(entry: Parameters<typeof startRdpHarness>[1] = {}, confirm = {}) {
  const server = await startRdpStandIn(confirm);
  cleanup.push(() => server.close());
  const h = await startRdpHarness(server.addr, entry);
  cleanup.push(() => h.close());
  return { server, h };
}

/** Past RDCleanPath and the connection PDUs, then the Client Info PDU; the answer is checked to be a success. */
async function loggedIn(h: RdpHarness, typed = { user: 'alice', password: 'typed-pw' }): Promise<Socket> {
  const sock = await h.open();
  sock.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
  expect((await readAnswer(sock)).error).toBeUndefined();
  for (const p of connectPdusBlind()) sock.write(p);
  sock.write(sendData(3, 1003, clientInfoData(typed)));
  return sock;
}

const REFRESH = 0x21; // PDUTYPE2_REFRESH_RECT: not input, must pass

describe('RDP gateway attacks', () => {
  test('a forged destination never makes the agent dial it', async () => {
    const { server, h } = await setUp();
    const decoy = await startRdpStandIn();
    cleanup.push(() => decoy.close());
    const sock = await h.open();
    sock.write(cleanPathRequest({ destination: decoy.addr, x224: connectionRequest(3) }));
    expect((await readAnswer(sock)).serverAddr).toBe(server.addr);
    expect([server.accepted(), decoy.accepted()]).toEqual([1, 0]);
  });

  test('input in a view-only session never reaches the server (fast-path and slow-path); other PDUs do', async () => {
    for (const viewOnly of [false, true]) {
      const { server, h } = await setUp();
      h.setRoles([desktopRole('watch', { viewOnly })]);
      const sock = await loggedIn(h);
      sock.write(fastPathKey(0x2d));
      sock.write(sendData(3, 1003, slowPathInputData(0x2e)));
      const marker = sendData(3, 1003, shareData(REFRESH, Buffer.from('marker-after-input')));
      sock.write(marker);
      await waitFor('the marker', () => server.received().includes(Buffer.from('marker-after-input')));
      const got = server.received();
      expect(got.includes(fastPathKey(0x2d))).toBe(!viewOnly);
      expect(got.includes(sendData(3, 1003, slowPathInputData(0x2e)))).toBe(!viewOnly);
      sock.destroy();
      await waitFor('the end', () => h.events.some((e) => e.type === 'desktop.session.end'));
      expect(h.events.find((e) => e.type === 'desktop.session.end')).toMatchObject({ input_dropped: viewOnly ? 2 : 0 });
      for (const c of cleanup.splice(0).reverse()) await c();
    }
  });

  test("a denied clipboard: the client's cliprdr channel never reaches the server by that name", async () => {
    for (const clipboard of [true, false]) {
      const { server, h } = await setUp();
      h.setRoles([desktopRole('clip', { clipboard })]);
      const sock = await h.open();
      sock.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
      await readAnswer(sock);
      sock.write(connectInitial(1, ['rdpsnd', 'CLIPRDR', 'drdynvc']));
      await waitFor('the Connect-Initial', () => server.received().includes(Buffer.from('rdpsnd')));
      const got = server.received();
      expect(got.includes(Buffer.from('CLIPRDR'))).toBe(clipboard);
      expect(got.includes(Buffer.from('tp-nclp'))).toBe(!clipboard);
      expect(got.includes(Buffer.from('drdynvc'))).toBe(true);
      expect(got.length).toBe(connectInitial(1, ['rdpsnd', 'CLIPRDR', 'drdynvc']).length);
      sock.destroy();
      for (const c of cleanup.splice(0).reverse()) await c();
    }
  });

  test('with NLA selected, CredSSP messages pass before the first TPKT; an oversize one ends the session', async () => {
    const { server, h } = await setUp({}, { selected: 2 });
    const sock = await h.open();
    sock.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
    expect((await readAnswer(sock)).error).toBeUndefined();
    const tsRequest = Buffer.concat([Buffer.from([0x30, 0x81, 0x90]), Buffer.alloc(0x90, 0xa5)]);
    sock.write(tsRequest);
    sock.write(connectInitial(1));
    await waitFor(
      'the Connect-Initial',
      () => server.received().length === tsRequest.length + connectInitial(1).length,
    );
    expect(server.received().subarray(0, tsRequest.length).equals(tsRequest)).toBe(true);
    sock.destroy();
    const again = await h.open();
    again.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
    await readAnswer(again);
    again.write(Buffer.from([0x30, 0x83, 0x10, 0x00, 0x00]));
    await waitFor('the refusal', () => h.events.some((e) => String(e.error).includes('CredSSP message')));
  });

  test('agent credentials against a server that insists on NLA: a negotiation error with its answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-rdp-nla-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'pass'), 'pw\n');
    const { server, h } = await setUp({ username: 'svc', password_file: join(dir, 'pass') }, { failure: 5 });
    const sock = await h.open();
    sock.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
    const a = await readAnswer(sock);
    expect(a.error).toMatchObject({ code: 2 });
    expect(a.x224!.readUInt32LE(a.x224!.length - 4)).toBe(5);
    expect(server.requests[0]!.readUInt32LE(server.requests[0]!.length - 4)).toBe(1);
    await waitFor('the audit', () => h.events.some((e) => e.type === 'desktop.session.start'));
    expect(String(h.events[0]!.error)).toContain('HYBRID_REQUIRED_BY_SERVER');
  });

  test('oversize or malformed RDCleanPath requests get an error PDU and reach no server', async () => {
    const { server, h } = await setUp();
    const big = cleanPathRequest({ destination: 'x'.repeat(20_000), x224: connectionRequest(3) });
    const oldVersion = cleanPathRequest({ destination: 'win1', x224: connectionRequest(3), version: 3389 });
    const notX224 = cleanPathRequest({ destination: 'win1', x224: Buffer.from('GET / HTTP/1.1\r\n\r\n') });
    const indefinite = Buffer.from([0x30, 0x80, 0xa0, 0x03, 0x02, 0x01, 0x01, 0, 0]);
    for (const bad of [big, oldVersion, notX224, indefinite, Buffer.from('GET / HTTP/1.1\r\n\r\n')]) {
      const sock = await h.open();
      sock.write(bad);
      expect((await readAnswer(sock)).error).toMatchObject({ code: 1, http: 400 });
      sock.destroy();
    }
    expect(server.accepted()).toBe(0);
    await waitFor('the refusals', () => h.events.filter((e) => e.type === 'desktop.session.start').length === 5);
    expect(h.events.every((e) => e.type === 'desktop.session.start' && e.success === false)).toBe(true);
    expect(String(h.events[0]!.error)).toContain('RDCleanPath request (at most 16384)');
  });

  test('malformed PDUs after the gateway end the session before the server gets them', async () => {
    const cases: [string, Buffer[]][] = [
      ['fast-path input before the Client Info PDU', [fastPathKey(0x1e)]],
      ['MCS data before the Client Info PDU', [sendData(3, 1003, shareData(REFRESH, Buffer.alloc(8)))]],
      ['a 5-byte TPKT', [Buffer.from([3, 0, 0, 5, 0])]],
      ['a Client Info PDU with a 4000-byte field', [sendData(3, 1003, oversizeInfo())]],
    ];
    for (const [why, pdus] of cases) {
      const { server, h } = await setUp();
      const sock = await h.open();
      sock.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
      await readAnswer(sock);
      for (const p of [...connectPdusBlind(), ...pdus]) sock.write(p);
      await waitFor(why, () => h.events.some((e) => e.type === 'desktop.session.start'));
      const e = h.events.find((x) => x.type === 'desktop.session.start')!;
      expect(e.success).toBe(false);
      expect(String(e.error)).toContain(why === 'a 5-byte TPKT' ? 'a 5-byte TPKT' : why.split(' with')[0]!);
      const sent = server.received();
      for (const p of pdus) expect(sent.includes(p)).toBe(false);
      sock.destroy();
      for (const c of cleanup.splice(0).reverse()) await c();
    }
  });

  test("the agent's password reaches the server only: not the audit, not the browser", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-rdp-pass-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'pass'), 'S3cret-agent-pw\n');
    const { server, h } = await setUp({ username: 'CORP\\svc', password_file: join(dir, 'pass') });
    const sock = await h.open();
    const fromServer: Buffer[] = [];
    sock.on('data', (b: Buffer) => fromServer.push(b));
    sock.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
    for (const p of connectPdusBlind()) sock.write(p);
    sock.write(sendData(3, 1003, clientInfoData({ user: 'mallory', password: 'typed-pw' })));
    const password = Buffer.from('S3cret-agent-pw', 'utf16le');
    await waitFor('the injected Client Info', () => server.received().includes(password));
    // TLS only: the agent asked for PROTOCOL_SSL though the client asked for SSL|HYBRID.
    expect(server.requests[0]!.readUInt32LE(server.requests[0]!.length - 4)).toBe(1);
    expect(server.received().includes(Buffer.from('typed-pw', 'utf16le'))).toBe(false);
    sock.destroy();
    await waitFor('the end', () => h.events.some((e) => e.type === 'desktop.session.end'));
    const audit = JSON.stringify(h.events);
    expect(audit).toContain('"login":"svc"');
    expect(audit).not.toContain('S3cret');
    expect(Buffer.concat(fromServer).includes(password)).toBe(false);
    expect(Buffer.concat(fromServer).includes(Buffer.from('S3cret'))).toBe(false);
  });
});

/** A Client Info PDU's user data whose cbUserName says 4000 bytes. */
function oversizeInfo(): Buffer {
  const d = clientInfoData({ user: 'alice', password: 'x' });
  d.writeUInt16LE(4000, 4 + 8 + 2);
  return d;
}
