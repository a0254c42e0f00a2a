// The plugin conformance suite (core/plugin/conformance.ts) run against the echo fixture plugin through a real
// cluster built by the composition root: one agent serving over its reverse tunnel, one direct agent, both given
// their echo service with the plugin's `--echo` flag.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Duplex } from 'node:stream';
import { AckSchema } from '../core/api/schemas.ts';
import { type ConformanceHarness, conformanceChecks } from '../core/plugin/conformance.ts';
import type { PluginLoader } from '../core/plugin/registry.ts';
import { PLUGINS } from '../plugins/index.ts';
import sshPlugin from '../plugins/ssh/index.ts';
import echoPlugin from './fixtures/echoPlugin.ts';
import { startTestCluster, type TestCluster } from './helpers/cluster.ts';
import { auditEvents, foreignUser, proxySide, signedUser, waitForResources } from './helpers/conformanceHarness.ts';

const WITH_ECHO: PluginLoader[] = [...PLUGINS, () => import('./fixtures/echoPlugin.ts')];
let cluster: TestCluster;
let harness: ConformanceHarness;

/** Reads until the echo greeting, then checks one line comes back as sent. */
async function echoExchange(sock: Duplex): Promise<void> {
  let got = '';
  const seen = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${text}" from echo; got ${JSON.stringify(got)}`)), 5_000);
      const check = () => {
        if (got.includes(text)) {
          clearTimeout(timer);
          sock.off('data', onData);
          resolve();
        } else if (got.startsWith('denied:')) {
          clearTimeout(timer);
          reject(new Error(got.trim()));
        }
      };
      const onData = (d: Buffer) => {
        got += d.toString();
        check();
      };
      sock.on('data', onData);
      sock.resume(); // the suite hands the socket over paused, just past the proxy's answer
      check();
    });
  await seen('hello alice as ');
  sock.write('ping-1\n');
  await seen('ping-1\n');
}

beforeAll(async () => {
  cluster = await startTestCluster({
    plugins: WITH_ECHO,
    agents: [
      { name: 'echo-tunnel', pluginFlags: { echo: ['e-tunnel'] } },
      { name: 'echo-direct', direct: true, pluginFlags: { echo: ['e-direct'] } },
    ],
  });
  await cluster.auth.admin.post(AckSchema, '/v1/roles', {
    role: { metadata: { name: 'echoer' }, spec: { allow: { logins: ['ops'], node_labels: { '*': '*' } } } },
  });
  await cluster.auth.client.createUser({ name: 'alice', roles: ['echoer'], password: 'correct horse battery' });
  const direct = cluster.agents.get('echo-direct')!;
  harness = {
    ...proxySide(cluster),
    resources: [
      { name: 'e-tunnel', via: 'tunnel' },
      { name: 'e-direct', via: 'direct', directAddr: direct.directAddr },
    ],
    principals: { allowed: 'ops', denied: 'root' },
    user: signedUser(cluster, 'alice'),
    foreignUser: () => foreignUser('alice', ['echoer']),
    events: auditEvents(cluster),
    protocol: { request: (login) => ({ principal: login, route: { login } }), exercise: echoExchange },
  };
  // Both echo services are in the cluster state before the checks run.
  await waitForResources(cluster, 'echo', ['e-tunnel', 'e-direct']);
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

describe('plugin conformance: echo', () => {
  for (const c of conformanceChecks(echoPlugin, () => harness)) test(c.name, c.run, c.timeoutMs);

  const locks = [
    { what: 'the user', target: { user: 'alice' }, said: 'user "alice" is locked: laptop lost' },
    { what: 'the resource', target: { resource: 'echo/e-tunnel' }, said: 'echo "e-tunnel" is locked: laptop lost' },
  ];
  for (const l of locks)
    test(`a lock on ${l.what} ends a running echo session, saying why`, async () => {
      const { connect } = await import('node:tls');
      const [host, port] = cluster.proxy.addr.split(':');
      const sock = connect({
        host,
        port: Number(port),
        ca: harness.proxy.ca,
        ...(await harness.user()),
        ALPNProtocols: ['tp-echo'],
        checkServerIdentity: () => undefined,
      });
      await new Promise((r) => sock.once('secureConnect', r));
      sock.write(`${JSON.stringify({ v: 1, target: 'e-tunnel', principal: 'ops', route: { login: 'ops' } })}\n`);
      await echoExchange(sock);
      let tail = '';
      sock.on('data', (d: Buffer) => {
        tail += d.toString();
      });
      const closed = new Promise<void>((r) => sock.once('close', () => r()));
      const lock = await cluster.auth.client.createLock({
        target: l.target,
        message: 'laptop lost',
      });
      try {
        await Promise.race([closed, Bun.sleep(10_000).then(() => Promise.reject(new Error('session not ended')))]);
        expect(tail).toContain(`bye: ${l.said}`);
      } finally {
        await cluster.auth.client.removeLock(lock.id);
      }
    }, 30_000);
});

/** The SSH relay reached the node when the node's SSH banner comes through (the session itself is end to end). */
async function sshBanner(sock: Duplex): Promise<void> {
  let got = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no SSH banner; got ${JSON.stringify(got)}`)), 5_000);
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('SSH-2.0-')) {
        clearTimeout(timer);
        resolve();
      }
    });
    sock.write('SSH-2.0-conformance\r\n');
    sock.resume();
  });
}

describe('plugin conformance: ssh (the checks that apply to an end-to-end plugin)', () => {
  const ssh = (): ConformanceHarness => ({
    ...harness,
    resources: [
      { name: 'echo-tunnel', via: 'tunnel' },
      { name: 'echo-direct', via: 'direct', directAddr: cluster.agents.get('echo-direct')!.directAddr },
    ],
    protocol: { request: (login, node) => ({ node, login }), exercise: sshBanner },
  });
  for (const c of conformanceChecks(sshPlugin, ssh)) test(c.name, c.run, c.timeoutMs);
});
