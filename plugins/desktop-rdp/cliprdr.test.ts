// The clipboard audit of RDP sessions, with a stand-in server that plays the server's side of the channel: its
// Connect-Response gives the clipboard channel's id, then data responses cross both ways and are audited by length.
import { afterEach, describe, expect, test } from 'bun:test';
import type { Socket } from 'node:net';
import { waitFor } from '../../test/helpers/cluster.ts';
import { desktopRole } from '../../test/helpers/desktopAgentHarness.ts';
import { startRdpHarness } from '../../test/helpers/rdpAgentHarness.ts';
import { cleanPathRequest, connectionRequest, readAnswer, readExact } from '../../test/helpers/rdpClient.ts';
import {
  clientInfoData,
  clipboardDataResponse,
  connectInitial,
  connectPdusBlind,
  connectResponse,
  sendData,
  sendDataIndication,
} from '../../test/helpers/rdpPdus.ts';
import { startRdpStandIn } from '../../test/helpers/rdpServerStandIn.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A session asking for rdpsnd (id 1004) and cliprdr (1005), logged in, with the server's Connect-Response read. */
async function session(clipboard: boolean) {
  const server = await startRdpStandIn();
  cleanup.push(() => server.close());
  const h = await startRdpHarness(server.addr);
  cleanup.push(() => h.close());
  h.setRoles([desktopRole('clip', { clipboard })]);
  const sock: Socket = await h.open();
  sock.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
  expect((await readAnswer(sock)).error).toBeUndefined();
  const [, ...rest] = connectPdusBlind();
  sock.write(connectInitial(1, ['rdpsnd', 'cliprdr']));
  const response = connectResponse([1004, 1005]);
  await waitFor('the Connect-Initial', () => server.received().length > 0);
  server.send(response);
  expect((await readExact(sock, response.length)).equals(response)).toBe(true);
  for (const p of rest) sock.write(p);
  sock.write(sendData(3, 1003, clientInfoData({ user: 'alice', password: 'pw' })));
  return { server, h, sock };
}

describe('desktop-rdp clipboard audit', () => {
  test('data responses both ways are audited by length only, and pass unchanged', async () => {
    const { server, h, sock } = await session(true);
    const down = sendDataIndication(3, 1005, clipboardDataResponse(Buffer.from('from-desktop', 'utf16le')));
    server.send(down);
    expect((await readExact(sock, down.length)).equals(down)).toBe(true);
    const up = sendData(3, 1005, clipboardDataResponse(Buffer.from('from-browser!', 'utf16le')));
    sock.write(up);
    await waitFor('the send', () => h.events.some((e) => e.type === 'desktop.clipboard.send'));
    expect(server.received().includes(up)).toBe(true);
    expect(h.events.find((e) => e.type === 'desktop.clipboard.receive')).toMatchObject({ success: true, length: 24 });
    expect(h.events.find((e) => e.type === 'desktop.clipboard.send')).toMatchObject({ success: true, length: 26 });
    expect(JSON.stringify(h.events)).not.toContain('from-');
    // The same PDU on another channel (rdpsnd) is no clipboard transfer.
    sock.write(sendData(3, 1004, clipboardDataResponse(Buffer.from('not-clipboard'))));
    await waitFor('it at the server', () => server.received().includes(Buffer.from('not-clipboard')));
    expect(h.events.filter((e) => String(e.type).startsWith('desktop.clipboard')).length).toBe(2);
  });

  test('with the clipboard denied the channel is renamed and what is sent on it is dropped both ways', async () => {
    const { server, h, sock } = await session(false);
    expect(server.received().includes(Buffer.from('cliprdr'))).toBe(false);
    server.send(sendDataIndication(3, 1005, clipboardDataResponse(Buffer.from('dropped-down'))));
    const fine = sendDataIndication(3, 1004, Buffer.from('sound-down'));
    server.send(fine);
    expect((await readExact(sock, fine.length)).equals(fine)).toBe(true);
    sock.write(sendData(3, 1005, clipboardDataResponse(Buffer.from('dropped-up'))));
    sock.write(sendData(3, 1004, Buffer.from('sound-up')));
    await waitFor('the other channel at the server', () => server.received().includes(Buffer.from('sound-up')));
    expect(server.received().includes(Buffer.from('dropped-up'))).toBe(false);
    expect(h.events.some((e) => String(e.type).startsWith('desktop.clipboard'))).toBe(false);
  });
});
