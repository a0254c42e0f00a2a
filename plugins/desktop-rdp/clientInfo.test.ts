// The Client Info rewrite as the server receives it: captured by a stand-in RDP server behind the agent and taken
// apart here with a parser of the test's own (TPKT, X.224, MCS PER, security header, TS_INFO_PACKET).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../test/helpers/cluster.ts';
import { type RdpHarness, startRdpHarness } from '../../test/helpers/rdpAgentHarness.ts';
import { cleanPathRequest, connectionRequest, readAnswer } from '../../test/helpers/rdpClient.ts';
import { clientInfoData, connectPdusBlind, sendData } from '../../test/helpers/rdpPdus.ts';
import { type RdpStandIn, startRdpStandIn } from '../../test/helpers/rdpServerStandIn.ts';

let dir: string;
let server: RdpStandIn;
let h: RdpHarness;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-rdp-info-'));
  writeFileSync(join(dir, 'pass'), 'pässwörd-of-the-agent\n');
  server = await startRdpStandIn();
  h = await startRdpHarness(server.addr, { username: 'CORP\\svc-desktop', password_file: join(dir, 'pass') });
});

afterAll(async () => {
  await h?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The TPKTs in `bytes`, each checked to be exactly as long as its header says. */
function tpkts(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    expect(bytes[at]).toBe(3);
    const len = bytes.readUInt16BE(at + 2);
    out.push(bytes.subarray(at, at + len));
    at += len;
  }
  return out;
}

/** A Client Info PDU taken apart: MCS user data length checks, flags, the five strings, the extended info. */
function takeApart(pdu: Buffer) {
  expect([...pdu.subarray(4, 7)]).toEqual([2, 0xf0, 0x80]);
  expect(pdu[7]).toBe(0x64);
  let at = 13;
  let len = pdu[at]!;
  if (len & 0x80) len = ((len & 0x3f) << 8) | pdu[++at]!;
  const data = pdu.subarray(at + 1);
  expect(data.length).toBe(len);
  expect(data.readUInt16LE(0) & 0x40).toBe(0x40);
  const flags = data.readUInt32LE(8);
  const cb = [0, 1, 2, 3, 4].map((i) => data.readUInt16LE(12 + 2 * i));
  let p = 22;
  const strings = cb.map((n) => {
    const s = data.subarray(p, p + n).toString('utf16le');
    expect(data.readUInt16LE(p + n)).toBe(0);
    p += n + 2;
    return s;
  });
  return { flags, strings, extra: data.subarray(p) };
}

describe('desktop-rdp Client Info rewrite', () => {
  test('domain, user and password replaced, autologon set, every length right, the rest kept', async () => {
    const sock = await h.open();
    sock.write(cleanPathRequest({ destination: 'win1', x224: connectionRequest(3) }));
    expect((await readAnswer(sock)).error).toBeUndefined();
    for (const p of connectPdusBlind()) sock.write(p);
    const original = clientInfoData({ domain: 'HOME', user: 'mallory', password: 'typed' });
    sock.write(sendData(3, 1003, original));
    await waitFor('the Client Info at the server', () => tpkts(server.received()).length === 6);
    const rewritten = takeApart(tpkts(server.received())[5]!);
    const before = takeApart(sendData(3, 1003, original));
    expect(rewritten.strings).toEqual(['CORP', 'svc-desktop', 'pässwörd-of-the-agent', '', '']);
    expect(rewritten.flags).toBe((before.flags | 0x08) >>> 0);
    expect(rewritten.extra.equals(before.extra)).toBe(true);
    // The connection PDUs before it passed unchanged.
    expect(tpkts(server.received()).slice(0, 5)).toEqual(connectPdusBlind());
    sock.destroy();
  });
});
