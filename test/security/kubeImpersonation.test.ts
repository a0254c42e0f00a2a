// Attacks on the kube agent's request rewriting, sent as raw HTTP/1.1 (kubectl would normalise some of them): the
// client's own credentials and impersonation must never reach the API server, nor a path that means another one.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { connect, type TLSSocket } from 'node:tls';
import { type KubeAgentHarness, startKubeAgentHarness } from '../helpers/kubeAgentHarness.ts';

/** Reads one response (head + Content-Length body) from `sock`, at most 5 s. */
function response(sock: TLSSocket): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error(`no whole response in 5 s: ${buf.toString()}`)), 5_000);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const at = buf.indexOf('\r\n\r\n');
      if (at < 0) return;
      const head = buf.subarray(0, at).toString();
      const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < at + 4 + len) return;
      clearTimeout(timer);
      sock.off('data', onData);
      resolve({ status: Number(head.split(' ')[1]), body: buf.subarray(at + 4, at + 4 + len).toString() });
    };
    sock.on('data', onData);
  });
}

describe('security: kube requests through the agent', () => {
  let h: KubeAgentHarness;
  let sock: TLSSocket;
  beforeAll(async () => {
    h = await startKubeAgentHarness();
  });
  afterAll(async () => {
    await h?.close();
  });
  const open = async () => {
    const u = new URL(h.url);
    sock = connect({ host: u.hostname, port: Number(u.port), ca: h.pki.serverCaPem, ALPNProtocols: ['http/1.1'] });
    await new Promise<void>((r) => sock.once('secureConnect', () => r()));
    return sock;
  };
  const send = async (lines: string[]) => {
    sock.write(`${lines.join('\r\n')}\r\n\r\n`);
    return response(sock);
  };

  test('the client Authorization, Impersonate-Uid and Impersonate-Extra-* never reach the API server', async () => {
    await open();
    const before = h.api.requests.length;
    const r = await send([
      'GET /api/v1/namespaces/default/pods HTTP/1.1',
      'Host: k1',
      'Authorization: Bearer stolen-admin-token',
      'Impersonate-Uid: 0',
      'Impersonate-Extra-Scopes: cluster-admin',
      'Accept: application/json',
    ]);
    expect(r.status).toBe(200);
    const seen = h.api.requests.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ authenticated: 'tp-agent', user: 'alice', groups: ['devs', 'viewers'] });
    expect(Object.keys(seen[0]!.headers).filter((k) => k === 'authorization' || k.startsWith('impersonate-'))).toEqual([
      'impersonate-user',
      'impersonate-group',
    ]);
    sock.destroy();
  });

  test('Impersonate-User / Impersonate-Group beyond the grants are refused, never forwarded', async () => {
    await open();
    const before = h.api.requests.length;
    const u = await send([
      'GET /api/v1/namespaces/default/pods HTTP/1.1',
      'Host: k1',
      'Impersonate-User: system:admin',
    ]);
    expect(u.status).toBe(403);
    expect(u.body).toContain('impersonating user "system:admin" is not allowed');
    const g = await send([
      'GET /api/v1/namespaces/default/pods HTTP/1.1',
      'Host: k1',
      'Impersonate-Group: system:masters',
    ]);
    expect(g.status).toBe(403);
    expect(g.body).toContain('impersonating group "system:masters" is not allowed');
    expect(h.api.requests.length).toBe(before);
    sock.destroy();
  });

  test('a path with dot segments (/pods/../secrets, %2e%2e) or an encoded slash is refused before the API server', async () => {
    await open();
    const before = h.api.requests.length;
    for (const path of [
      '/api/v1/namespaces/x/pods/../secrets',
      '/api/v1/namespaces/x/pods/%2e%2e/secrets',
      '/api/v1/namespaces/x/pods%2f..%2fsecrets',
    ]) {
      const r = await send([`GET ${path} HTTP/1.1`, 'Host: k1']);
      expect(r.status).toBe(403);
    }
    expect(h.api.requests.length).toBe(before);
    sock.destroy();
  });

  test('after an upgrade the server refused, the next request on the connection is still judged and rewritten', async () => {
    await open();
    const refused = await send([
      'GET /api/v1/namespaces/default/pods/nope/exec?command=id&stdout=true HTTP/1.1',
      'Host: k1',
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Protocol: v5.channel.k8s.io',
    ]);
    expect(refused.status).toBe(404);
    const before = h.api.requests.length;
    const next = await send([
      'GET /api/v1/namespaces/default/pods HTTP/1.1',
      'Host: k1',
      'Impersonate-User: system:admin',
    ]);
    expect(next.status).toBe(403);
    expect(h.api.requests.length).toBe(before);
    sock.destroy();
  });
});
