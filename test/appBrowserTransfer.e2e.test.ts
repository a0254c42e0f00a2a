// Large transfers on an app host (issue 20): 500 MB up and 500 MB down through the proxy's app host, the tunnel and
// the agent, with an app session cookie, streamed end to end: the live heap of this process (proxy, agent and
// upstream all run here) stays far below the size moved.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { connect, type TLSSocket } from 'node:tls';
import { webCall, webLogin } from './helpers/accountWeb.ts';
import {
  APP_PASSWORD,
  type AppBrowserCluster,
  rawAppRequest,
  startAppBrowserCluster,
} from './helpers/appBrowserCluster.ts';
import { sampleLiveMemory } from './helpers/liveMemory.ts';

const MB = Number(process.env.TP_APP_TRANSFER_MB ?? 500);
let a: AppBrowserCluster;
let cookie: string;

beforeAll(async () => {
  a = await startAppBrowserCluster();
  const web = (await webLogin(a.base, { username: 'alice', password: APP_PASSWORD })).session!;
  const state = randomBytes(32).toString('base64url');
  const r = await webCall(a.base, 'POST', '/webapi/apps/launch', { body: { app: 'grafana', state }, session: web });
  const f = new URLSearchParams(new URL(String(r.body.url)).hash.slice(1));
  const body = JSON.stringify({ state, value: f.get('value'), path: '/' });
  const host = `grafana.localhost:${a.port}`;
  const answer = await rawAppRequest(
    a.port,
    'grafana.localhost',
    `POST /tp-launch HTTP/1.1\r\nHost: ${host}\r\nOrigin: https://${host}\r\nCookie: __Host-tp_app_state=${state}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
  cookie = /__Host-tp_app_session=([^;]+)/.exec(answer)![1]!;
}, 90_000);
afterAll(async () => {
  await a?.close();
});

async function open(): Promise<TLSSocket> {
  const s = connect({ host: '127.0.0.1', port: a.port, servername: 'grafana.localhost', rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => {
    s.once('secureConnect', resolve);
    s.once('error', reject);
  });
  return s;
}

/**
 * Reads one answer: its head, then its body (Content-Length or chunked) counted as it comes, kept only when small.
 */
function readAnswer(s: TLSSocket): Promise<{ head: string; body: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let head: string | undefined;
    let body = '';
    let bytes = 0;
    let left = 0;
    let chunked = false;
    let state: 'size' | 'data' | 'crlf' = 'data';
    const timer = setTimeout(
      () => reject(new Error(`timed out after ${bytes} body bytes, head ${head}, left ${left}, state ${state}`)),
      200 * MB + 20_000,
    );
    const done = () => {
      clearTimeout(timer);
      s.off('data', on);
      resolve({ head: head ?? '', body, bytes });
    };
    const on = (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      if (head === undefined) {
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        head = buf.subarray(0, i).toString('latin1');
        buf = buf.subarray(i + 4);
        chunked = /transfer-encoding: chunked/i.test(head);
        left = chunked ? 0 : Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        state = chunked ? 'size' : 'data';
      }
      for (;;) {
        if (state === 'data') {
          const part = buf.subarray(0, left);
          buf = buf.subarray(part.length);
          bytes += part.length;
          left -= part.length;
          if (bytes <= 4096) body += part.toString();
          if (left > 0) return;
          if (!chunked) return done();
          state = 'crlf';
        } else if (state === 'crlf') {
          if (buf.length < 2) return;
          buf = buf.subarray(2);
          state = 'size';
        } else {
          const i = buf.indexOf('\r\n');
          if (i < 0) return;
          left = Number.parseInt(buf.subarray(0, i).toString('latin1'), 16);
          buf = buf.subarray(i + 2);
          if (left === 0) return done();
          state = 'data';
        }
      }
    };
    s.on('data', on);
    s.once('error', reject);
  });
}

test(`${MB} MB upload and ${MB} MB download through an app host stream with a bounded heap`, async () => {
  const mem = sampleLiveMemory();
  const up = await open();
  const size = MB << 20;
  up.write(
    `POST /upload HTTP/1.1\r\nHost: grafana.localhost:${a.port}\r\nCookie: __Host-tp_app_session=${cookie}\r\nContent-Length: ${size}\r\n\r\n`,
  );
  const answered = readAnswer(up);
  const chunk = Buffer.alloc(1 << 20, 7);
  for (let i = 0; i < MB; i++) if (!up.write(chunk)) await new Promise((r) => up.once('drain', r));
  const upAnswer = await answered;
  expect(upAnswer.head).toStartWith('HTTP/1.1 200');
  expect(JSON.parse(upAnswer.body)).toEqual({ bytes: size });
  up.destroy();
  const down = await open();
  down.write(
    `GET /download?mb=${MB} HTTP/1.1\r\nHost: grafana.localhost:${a.port}\r\nCookie: __Host-tp_app_session=${cookie}\r\nConnection: close\r\n\r\n`,
  );
  const downAnswer = await readAnswer(down);
  expect(downAnswer.head).toStartWith('HTTP/1.1 200');
  expect(downAnswer.bytes).toBe(size);
  down.destroy();
  const grew = mem.stop();
  console.log(`app host transfer: ${MB} MB each way, live heap grew ${(grew / 2 ** 20).toFixed(1)} MiB`);
  expect(grew).toBeLessThan(64 * 2 ** 20);
}, 300_000);
