// The plugin conformance suite (core/plugin/conformance.ts) for desktop-vnc, through a real cluster: one agent
// serving a real TigerVNC Xvnc over its reverse tunnel, one direct agent serving the same server under another name,
// both given it with `--desktop NAME=vnc://...?password_file=...`.
import { afterAll, beforeAll, describe, test } from 'bun:test';
import type { Duplex } from 'node:stream';
import * as v from 'valibot';
import { AuditEventSchema } from '../../core/api/schemas.ts';
import { formatAuthorizedKey, generateKeyPair, sshPublicBlob } from '../../core/crypto/keys.ts';
import { createTlsCA, issueTlsCert } from '../../core/crypto/x509.ts';
import { requireHostIdentity } from '../../core/identity/hostIdentity.ts';
import { type ConformanceHarness, conformanceChecks } from '../../core/plugin/conformance.ts';
import { clientKeys, startTestCluster, type TestCluster, waitFor } from '../../test/helpers/cluster.ts';
import { RfbClient } from '../../test/helpers/rfbClient.ts';
import { startXvnc, type Xvnc, xvncMissing } from '../../test/helpers/xvnc.ts';
import desktopPlugin from './index.ts';

if (xvncMissing) console.error(`\n!!! desktop-vnc conformance is SKIPPED: ${xvncMissing}\n`);

let cluster: TestCluster;
let xvnc: Xvnc;
let harness: ConformanceHarness;

/** The RFB handshake through tp (security None), then one full update of the screen. */
async function rfbExchange(sock: Duplex): Promise<void> {
  const c = new RfbClient(sock);
  await c.handshake();
  c.setPixelFormat32();
  c.setEncodings([0]);
  c.requestUpdate();
  await c.until('update');
}

beforeAll(async () => {
  if (xvncMissing) return;
  xvnc = await startXvnc();
  cluster = await startTestCluster({});
  const flag = (name: string) => `${name}=vnc://127.0.0.1:${xvnc.port}?password_file=${xvnc.passwordFile}`;
  await cluster.addAgent({ name: 'vnc-agent-tunnel', pluginFlags: { desktop: [flag('lab-tunnel')] } });
  const direct = await cluster.addAgent({
    name: 'vnc-agent-direct',
    direct: true,
    pluginFlags: { desktop: [flag('lab-direct')] },
  });
  await cluster.auth.client.createUser({
    name: 'alice',
    roles: ['access'],
    traits: { desktop_logins: ['alice'] },
    password: 'correct horse battery',
  });
  const proxyId = requireHostIdentity(cluster.layout.proxyDir);
  const user = async (ttlMs?: number) => {
    const k = clientKeys();
    const r = await cluster.auth.client.signUser({
      username: 'alice',
      sshPublicKey: formatAuthorizedKey(sshPublicBlob(k.ssh.publicKey)),
      tlsPublicKey: k.tlsPublicKey,
      ttlMs,
    });
    return { cert: r.tlsCert, key: k.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
  };
  harness = {
    proxy: { addr: cluster.proxy.addr, ca: proxyId.tlsCa },
    resources: [
      { name: 'lab-tunnel', via: 'tunnel' },
      { name: 'lab-direct', via: 'direct', directAddr: direct.directAddr },
    ],
    principals: { allowed: 'alice', denied: 'root' },
    user,
    proxyTls: { cert: proxyId.tlsCert, key: proxyId.tlsKey },
    foreignUser: async () => {
      const ca = await createTlsCA('evil.example', Date.now());
      const k = generateKeyPair('p256');
      const cert = await issueTlsCert({
        ca,
        publicKey: k.publicKey,
        subject: { commonName: 'alice', organization: ['access'], identity: { kind: 'user' } },
        now: Date.now(),
        ttlMs: 3_600_000,
        usage: 'client',
      });
      return { cert, key: k.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
    },
    events: (type) => cluster.auth.admin.get(v.array(AuditEventSchema), `/v1/audit/events?type=${type}`),
    protocol: {
      request: (login) => ({ principal: login, route: { login } }),
      exercise: rfbExchange,
    },
  };
  await waitFor(
    'both desktops in the cluster state',
    async () => {
      const found = await Promise.all(
        ['lab-tunnel', 'lab-direct'].map((n) =>
          cluster.proxy.view.resolveResource('desktop', n).catch(() => undefined),
        ),
      );
      return found.every(Boolean);
    },
    15_000,
  );
}, 90_000);

afterAll(async () => {
  await cluster?.close();
  await xvnc?.close();
});

describe.skipIf(!!xvncMissing)('plugin conformance: desktop-vnc', () => {
  for (const c of conformanceChecks(desktopPlugin, () => harness)) test(c.name, c.run, c.timeoutMs);
});
