import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { webLogin } from '../helpers/accountWeb.ts';
import { waitFor } from '../helpers/cluster.ts';
import { type OperatorCluster, PASSWORD, startOperatorCluster } from '../helpers/operatorCluster.ts';
import { cleanPathRequest, connectionRequest, decodeAnswer } from '../helpers/rdpClient.ts';
import { rdpAgentConfig } from '../helpers/rdpDesktopStack.ts';
import { freePort } from '../helpers/sshd.ts';

// The proxy's side of RDP desktops in the browser: the desktop info endpoint and the WebSocket IronRDP drives
// let through only a same-origin page of a live session whose roles reach the desktop; refusals on the socket are
// a close code and reason only (a text frame would be read as RDP by IronRDP); the browser's first frame (its
// RDCleanPath request, sent as soon as the socket opens) reaches the agent. A real `tp start` and a separate
// `tp agent start` serving RDP desktops whose server address answers nothing.
let c: OperatorCluster;
let dir: string;
let base: string;
let cookie: string;

type Answer = { status: number; body: Record<string, unknown> & { error?: { message?: string } } };
const info = async (name: string, h: Record<string, string>): Promise<Answer> => {
  const r = await fetch(`${base}/webapi/desktops/${name}`, {
    headers: h,
    tls: { rejectUnauthorized: false },
  } as RequestInit);
  return { status: r.status, body: (await r.json()) as Answer['body'] };
};

/** What an RDP page's socket did first: an HTTP refusal, a binary message (whole), a text frame, or a close. */
type First = { http: number } | { binary: Buffer } | { text: string } | { close: number; reason: string };

/** Opens the RDP socket as IronRDP does (`?rdp=1`), sending `send` the moment it opens; resolves its first event. */
function rdpSocket(name: string, h: { origin?: string; cookie?: string }, send?: Buffer): Promise<First> {
  const headers: Record<string, string> = {};
  if (h.origin) headers.origin = h.origin;
  if (h.cookie) headers.cookie = h.cookie;
  const ws = new WebSocket(`wss://${c.proxy}/webapi/desktops/${name}/connect?rdp=1`, {
    headers,
    rejectUnauthorized: false,
  });
  return new Promise((resolve) => {
    const done = (f: First) => {
      resolve(f);
      ws.terminate();
    };
    ws.on('open', () => send && ws.send(send));
    ws.on('unexpected-response', (_req, res) => done({ http: res.statusCode ?? 0 }));
    ws.on('message', (data, binary) => done(binary ? { binary: data as Buffer } : { text: String(data) }));
    ws.on('close', (code, reason) => done({ close: code, reason: String(reason) }));
    ws.on('error', () => undefined); // the HTTP answer or the close says what happened
  });
}

describe('RDP desktops: the proxy side of the browser path', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-rdp-web-sec-'));
    const pw = join(dir, 'pw');
    writeFileSync(pw, 'secret\n');
    const dead = `127.0.0.1:${await freePort()}`;
    c = await startOperatorCluster(
      dir,
      'rdpweb.sec',
      'metadata: {name: desk-dev}\nspec:\n  allow:\n    desktop_labels: {env: dev}\n',
    );
    await c.startAgent(
      'rdp',
      rdpAgentConfig([
        { name: 'win1', addr: dead, env: 'dev', username: 'tp', passwordFile: pw },
        { name: 'win-user', addr: dead, env: 'dev' },
        { name: 'win-prod', addr: dead, env: 'prod' },
      ]),
    );
    base = `https://${c.proxy}`;
    cookie = (await webLogin(base, { username: 'alice', password: PASSWORD })).session!.cookie;
    await waitFor(
      'the RDP desktops heartbeating',
      async () => (await info('win-user', { cookie })).status === 200,
      20_000,
    );
  });
  afterAll(async () => {
    await c?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the page learns the protocol, whose credentials, and the rights, and nothing else (no address, no secret)', async () => {
    expect(await info('win1', { cookie })).toEqual({
      status: 200,
      body: { name: 'win1', protocol: 'rdp', credentials: 'agent', clipboard: true, viewOnly: false },
    });
    expect((await info('win-user', { cookie })).body).toMatchObject({ protocol: 'rdp', credentials: 'user' });
  });

  test('no session cookie: the info and the socket are refused (401)', async () => {
    expect((await info('win1', {})).status).toBe(401);
    expect(await rdpSocket('win1', { origin: base })).toEqual({ http: 401 });
  });

  test('a foreign Origin, or none on the socket, is refused (403) even with a valid cookie', async () => {
    const evil = await info('win1', { cookie, origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(await rdpSocket('win1', { origin: 'https://evil.example', cookie })).toEqual({ http: 403 });
    expect(await rdpSocket('win1', { cookie })).toEqual({ http: 403 });
  });

  test('a desktop the roles do not reach: the info says why; the socket closes with the reason and sends no text', async () => {
    const denied = await info('win-prod', { cookie });
    expect(denied.status).toBe(403);
    expect(denied.body.error?.message).toContain('access to desktop "win-prod" is not allowed');
    const first = await rdpSocket('win-prod', { origin: base, cookie });
    expect(first).toMatchObject({ close: 4000 });
    expect((first as { reason: string }).reason).toContain('not allowed');
  });

  test('the RDCleanPath request sent as the socket opens reaches the agent, and its answer is one whole message', async () => {
    const request = cleanPathRequest({ destination: 'anything', x224: connectionRequest(1) });
    const first = await rdpSocket('win1', { origin: base, cookie }, request);
    expect('binary' in first).toBe(true);
    // The server address answers nothing: the agent says so in an RDCleanPath error, framed whole.
    const answer = decodeAnswer((first as { binary: Buffer }).binary);
    expect(answer.error).toBeDefined();
  });
});
