// Streams that reach a desktop agent directly, as a proxy that checked nothing: without a user certificate, with a
// certificate from a foreign CA, or with a real user whose roles do not reach the desktop. None of them may make the
// agent dial the VNC server (a listener here counts every connection) or see a byte of RFB.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createConnection, createServer, type Server } from 'node:net';
import * as v from 'valibot';
import { type HostIdentity, requireHostIdentity } from '../../core/identity/hostIdentity.ts';
import { readHeader, writeHeader } from '../../core/tunnel/header.ts';
import { startTestCluster, type TestCluster, waitFor } from '../helpers/cluster.ts';
import { derOf, dialAgentAsProxy, foreignUser, signedUser } from '../helpers/conformanceHarness.ts';
import { RfbClient, RfbRefused } from '../helpers/rfbClient.ts';

let cluster: TestCluster;
let vnc: Server;
/** The client ports of every connection the stand-in VNC server accepted, in order; ours are in `probes`. */
const accepted: number[] = [];
const probes = new Set<number>();
let vncPort = 0;
let agentAddr = '';
let proxyId: HostIdentity;

const Answer = v.looseObject({
  ok: v.boolean(),
  error: v.optional(v.object({ code: v.string(), message: v.string() })),
});

/** One forged stream to the direct agent (TLS as the proxy), header fields as given; the answer and the socket. */
async function forged(header: Record<string, unknown>) {
  const sock = await dialAgentAsProxy(agentAddr, proxyId);
  writeHeader(sock, { v: 1, service: 'desktop-vnc', client: '127.0.0.1:1', resource: 'lab1', ...header });
  return { sock, answer: await readHeader(sock, Answer, 64 * 1024, 10_000) };
}

/**
 * How many connections the agent made to the VNC server so far. Our own probe queues at the listener behind any dial
 * the agent started before it, so once the probe is accepted every earlier dial has been counted.
 */
async function agentDials(): Promise<number> {
  const probe = createConnection({ host: '127.0.0.1', port: vncPort });
  probe.on('error', () => undefined);
  await new Promise((resolve) => probe.once('connect', resolve));
  const mine = probe.localPort!;
  probes.add(mine);
  await waitFor('our probe at the VNC listener', () => accepted.includes(mine));
  probe.destroy();
  return accepted.filter((p) => !probes.has(p)).length;
}

/** `name`'s TLS certificate, signed at auth, as a stream header carries it. */
const userCert = async (name: string) => derOf((await signedUser(cluster, name)()).cert);

beforeAll(async () => {
  vnc = createServer((s) => {
    accepted.push(s.remotePort!);
    s.destroy();
  });
  await new Promise<void>((r) => vnc.listen(0, '127.0.0.1', () => r()));
  vncPort = (vnc.address() as { port: number }).port;
  cluster = await startTestCluster({});
  const agent = await cluster.addAgent({
    name: 'vnc-direct',
    direct: true,
    pluginFlags: { desktop: [`lab1=vnc://127.0.0.1:${vncPort}`] },
  });
  agentAddr = agent.directAddr!;
  proxyId = requireHostIdentity(cluster.layout.proxyDir);
  await cluster.auth.client.putRole(
    { metadata: { name: 'no-desktops' }, spec: { allow: { logins: ['mallory'] } } },
    false,
  );
  for (const [name, roles] of [
    ['mallory', ['no-desktops']],
    ['alice', ['access']],
  ] as const)
    await cluster.auth.client.createUser({ name, roles: [...roles], password: 'correct horse battery' });
  await waitFor('the desktop', () => cluster.proxy.view.resolveResource('desktop', 'lab1').then(Boolean, () => false));
}, 60_000);

afterAll(async () => {
  await cluster?.close();
  vnc?.close();
});

describe('desktop streams straight to the agent', () => {
  test('without a certificate, or with a foreign one, the agent refuses before any RFB and dials nothing', async () => {
    const none = await forged({ user: 'alice' });
    expect(none.answer).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    none.sock.destroy();
    const foreign = await forged({ cert: derOf((await foreignUser('alice', ['access'])).cert) });
    expect(foreign.answer).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    foreign.sock.destroy();
    expect(await agentDials()).toBe(0);
  });

  test('a real user whose roles do not reach the desktop reads the refusal as RFB and the agent dials nothing', async () => {
    const { sock, answer } = await forged({ cert: await userCert('mallory') });
    expect(answer.ok).toBe(true);
    const err = await new RfbClient(sock).handshake().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RfbRefused);
    expect((err as RfbRefused).reason).toContain('access to desktop "lab1" is not allowed by roles [no-desktops]');
    expect(await agentDials()).toBe(0);
  });
});
