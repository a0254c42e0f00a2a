import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { run } from '../helpers/cli.ts';
import { type FixtureUser, me, type SshFixture, startSshFixture } from '../helpers/sshFixture.ts';

/**
 * Issue 16 item 4: ssh-audit reported [fail] for the NIST-curve key exchanges offered by the node (reached through
 * the proxy) and by the proxy's jump port. ssh-audit takes no ProxyCommand, so the node is audited through a
 * loopback port whose every connection is a real `tp proxy ssh` to the node, as OpenSSH's ProxyCommand runs it.
 */

const SSH_AUDIT = Bun.which('ssh-audit');
if (!SSH_AUDIT) console.warn('SKIPPING ssh-audit tests: apt-get install ssh-audit');
const entry = join(import.meta.dir, '..', '..', 'cmd', 'tp.ts');

let f: SshFixture;
let alice: FixtureUser;
let viaProxy: Server;
let viaProxyPort = 0;
beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1' }]);
  alice = await f.user('alice', ['ops']);
  viaProxy = createServer((sock) => {
    const pipe = Bun.spawn([process.execPath, entry, 'proxy', 'ssh', `${me}@node1:22`], {
      env: { ...process.env, TP_HOME: alice.home },
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'ignore',
    });
    sock.on('data', (d: Buffer) => {
      pipe.stdin.write(d);
      void pipe.stdin.flush();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => pipe.kill());
    void (async () => {
      for await (const chunk of pipe.stdout) sock.write(chunk);
      sock.end();
    })();
  });
  await new Promise<void>((r) => viaProxy.listen(0, '127.0.0.1', () => r()));
  viaProxyPort = (viaProxy.address() as { port: number }).port;
});
afterAll(async () => {
  viaProxy?.close();
  await f.close();
});

/** Runs ssh-audit against a loopback port; returns its report without colours. */
async function audit(port: number) {
  return run([SSH_AUDIT!, '-n', '-t', '20', '-p', String(port), '127.0.0.1']);
}

describe('ssh-audit', () => {
  for (const where of ['the node, through the proxy', 'the proxy jump port'] as const) {
    test.skipIf(!SSH_AUDIT)(`finds nothing to fail on ${where}`, async () => {
      const port = where === 'the proxy jump port' ? Number(f.cluster.proxy.sshAddr!.split(':')[1]) : viaProxyPort;
      const r = await audit(port);
      expect(r.stdout).toContain('(kex) curve25519-sha256');
      expect(r.stdout).toContain('(enc) aes128-gcm@openssh.com');
      const fails = r.stdout.split('\n').filter((l) => l.includes('[fail]'));
      expect(fails).toEqual([]);
      expect(r.stdout).not.toMatch(/ecdh-sha2-nistp|diffie-hellman|hmac-sha1|-cbc|arcfour/);
    });
  }
});
