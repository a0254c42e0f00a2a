// Attacks on kube routing at the proxy, sent as raw HTTP/1.1 over TLS to the proxy's one port through `tp start` and
// `tp agent start` (kubectl would normalise some of them): a server name naming a cluster the roles deny, the
// client's own Authorization and Impersonate-* headers, an exec upgrade on a pod the roles deny, a path that climbs
// out of the rules (`pods/../secrets`), no client certificate, and a certificate from another CA.
// None of them may reach the API server; each refusal is what kubectl prints, with tp's reason.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import * as v from 'valibot';
import { profileKeysDir } from '../../core/client/profile.ts';
import { waitFor } from '../helpers/cluster.ts';
import {
  KUBE_E2E_CLUSTER,
  type KubeProxyCluster,
  STAND_IN_ADMIN_TOKEN,
  startKubeProxyCluster,
} from '../helpers/kubeProxyCluster.ts';

const ROLE = `kind: role
metadata: {name: kube-dev}
spec:
  allow: {kubernetes_labels: {env: dev}, kubernetes_users: [alice-k8s], kubernetes_groups: [devs]}
  deny: {kubernetes_resources: [{kind: pods, name: p2, verbs: [exec]}, {kind: secrets, verbs: ['*']}]}
`;

interface Answer {
  status: number;
  head: string;
  body: string;
}

describe('security: kube routing at the proxy', () => {
  let dir: string;
  let c: KubeProxyCluster;
  let alice: { cert: string; key: string; ca: string };

  /** One request to the proxy with TLS server name `sni`, as `who` (no certificate when absent); its response. */
  const send = (
    sni: string,
    headers: string[],
    who?: { cert: string; key: string },
    start = 'GET /api/v1/namespaces/default/pods HTTP/1.1',
  ): Promise<Answer> => {
    const [host, port] = c.proxy.split(':');
    const sock = connect({
      host,
      port: Number(port),
      servername: sni,
      ca: alice.ca,
      ALPNProtocols: ['http/1.1'],
      ...who,
    });
    return new Promise<Answer>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`no whole response in 10 s: ${buf.toString()}`));
      }, 10_000);
      sock.once('secureConnect', () => {
        const lines = [start, `Host: ${sni}`, ...headers];
        sock.write(`${lines.join('\r\n')}\r\n\r\n`);
      });
      sock.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const at = buf.indexOf('\r\n\r\n');
        if (at < 0) return;
        const head = buf.subarray(0, at).toString();
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < at + 4 + len) return;
        clearTimeout(timer);
        sock.destroy();
        resolve({ status: Number(head.split(' ')[1]), head, body: buf.subarray(at + 4, at + 4 + len).toString() });
      });
    });
  };
  const sni = (cluster: string) => `${cluster}.kube.${KUBE_E2E_CLUSTER}`;
  const refusals = async (match: (e: Record<string, unknown>) => boolean) => {
    let found: Record<string, unknown>[] = [];
    await waitFor('the refusal audited', async () => {
      const all = v.parse(
        v.array(v.record(v.string(), v.unknown())),
        JSON.parse(await c.admin(['audit', 'search', '--type', 'auth.attempt', '--format', 'json'])),
      );
      found = all.filter((e) => e.kind === 'kube' && match(e));
      return found.length > 0;
    });
    return found;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-kube-routing-'));
    c = await startKubeProxyCluster(dir, ROLE);
    await c.addUser('alice', ['kube-dev']);
    await c.startAgent([{ name: 'k1' }, { name: 'k2', labels: { env: 'prod' } }]);
    await c.waitOnline('alice', ['k1']);
    const keys = profileKeysDir(c.proxy, c.env('alice').TP_HOME);
    const read = (f: string) => readFileSync(join(keys, f), 'utf8');
    alice = { cert: read('tls.crt'), key: read('tls.key'), ca: read('cas.pem') };
  }, 120_000);
  afterAll(async () => {
    await c?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the same request reaches the API server for k1 (the attacks below are refused, not broken)', async () => {
    const r = await send(sni('k1'), ['Accept: application/json'], alice);
    expect(r.status).toBe(200);
    expect(c.api.requests.at(-1)).toMatchObject({ authenticated: 'tp-agent', user: 'alice-k8s', groups: ['devs'] });
  });

  test('a server name naming a cluster the roles deny is 403 with the reason, audited, and reaches no API server', async () => {
    const before = c.api.requests.length;
    const r = await send(sni('k2'), ['Accept: application/json'], alice);
    expect(r.status).toBe(403);
    expect(r.head).toContain('Connection: close');
    expect(r.body).toBe('tp: access to kubernetes cluster "k2" is not allowed by your roles\n');
    // A cluster nobody serves is refused the same way (no 404 that tells names apart by shape).
    const none = await send(sni('nope'), [], alice);
    expect(none.status).toBe(403);
    expect(c.api.requests.length).toBe(before);
    const [event] = await refusals((e) => e.target === 'k2');
    expect(event).toMatchObject({ success: false, user: 'alice', via: 'kube' });
  });

  test('an exec upgrade to a denied cluster is refused with a JSON Status (what client-go decodes), never forwarded', async () => {
    const before = c.api.requests.length;
    const r = await send(
      sni('k2'),
      [
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Protocol: v5.channel.k8s.io',
      ],
      alice,
      'GET /api/v1/namespaces/default/pods/p1/exec?command=sh&stdout=true HTTP/1.1',
    );
    expect(r.status).toBe(403);
    expect(r.head).toContain('Content-Type: application/json');
    expect(JSON.parse(r.body)).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'tp: access to kubernetes cluster "k2" is not allowed by your roles',
      reason: 'Forbidden',
      code: 403,
    });
    expect(c.api.requests.length).toBe(before);
  });

  test('an exec upgrade on a pod the roles deny, and a path climbing to secrets, are refused before the API server', async () => {
    const before = c.api.requests.length;
    const exec = await send(
      sni('k1'),
      ['Connection: Upgrade', 'Upgrade: SPDY/3.1', 'X-Stream-Protocol-Version: v4.channel.k8s.io'],
      alice,
      'POST /api/v1/namespaces/default/pods/p2/exec?command=sh&stdin=true&stdout=true HTTP/1.1',
    );
    expect(exec.status).toBe(403);
    expect(exec.head).toContain('Content-Type: application/json');
    expect(JSON.parse(exec.body)).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
    for (const path of [
      '/api/v1/namespaces/default/pods/../secrets',
      '/api/v1/namespaces/default/pods/%2e%2e/secrets',
    ]) {
      const r = await send(sni('k1'), [], alice, `GET ${path} HTTP/1.1`);
      expect(r.status).toBe(403);
      expect(r.body).toContain('dot segments');
    }
    expect(c.api.requests.length).toBe(before);
  });

  test('the client Authorization and Impersonate-Uid / Impersonate-Extra-* never reach the API server', async () => {
    const before = c.api.requests.length;
    const r = await send(
      sni('k1'),
      [
        `Authorization: Bearer ${STAND_IN_ADMIN_TOKEN}`,
        'Impersonate-Uid: 0',
        'impersonate-extra-scopes: cluster-admin',
        'Proxy-Authorization: Basic YWRtaW46YWRtaW4=',
      ],
      alice,
    );
    expect(r.status).toBe(200);
    const seen = c.api.requests.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ authenticated: 'tp-agent', user: 'alice-k8s', groups: ['devs'] });
    for (const name of ['authorization', 'impersonate-uid', 'impersonate-extra-scopes', 'proxy-authorization'])
      expect(seen[0]!.headers[name]).toBeUndefined();
  });

  test('Impersonate-User / Impersonate-Group beyond the grants are refused, whatever their case, never forwarded', async () => {
    const before = c.api.requests.length;
    for (const h of ['Impersonate-User: system:admin', 'IMPERSONATE-GROUP: system:masters']) {
      const r = await send(sni('k1'), [h], alice);
      expect(r.status).toBe(403);
      expect(r.body).toContain('is not allowed by your roles');
    }
    expect(c.api.requests.length).toBe(before);
  });

  test('no client certificate is 401 saying to run tp login; nothing reaches the API server', async () => {
    const before = c.api.requests.length;
    const r = await send(sni('k1'), [`Authorization: Bearer ${STAND_IN_ADMIN_TOKEN}`]);
    expect(r.status).toBe(401);
    expect(r.body).toBe('tp: a user certificate is required: run `tp login`\n');
    expect(c.api.requests.length).toBe(before);
  });

  test('a certificate from another CA naming alice is 401, not accepted; nothing reaches the API server', async () => {
    // The stand-in's own client CA: the API server would take it, tp must not.
    const foreign = await c.pki.clientCert('alice');
    const before = c.api.requests.length;
    const r = await send(sni('k1'), [], { cert: foreign.cert, key: foreign.key });
    expect(r.status).toBe(401);
    expect(r.body).toContain('your certificate is not accepted by this cluster');
    expect(c.api.requests.length).toBe(before);
  });
});
