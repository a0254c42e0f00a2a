// Stock kubectl through the tp proxy end to end: `tp start` and `tp agent start` as their own processes from tp.yaml
// files (the agent's `kube` section names clusters behind the stand-in API server), users made and logged in with
// the real CLI, `tp kube login` writing the kubeconfig (the proxy's one TLS port, `tls-server-name:
// <cluster>.kube.<tp cluster>`, tp's credential plugin). kubectl 1.33 through the dispatcher (the stand-in says minor
// 33) and 1.29 named directly. A cluster the roles deny is asked for with a kubeconfig written by hand (tp would not).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as v from 'valibot';
import { waitFor } from './helpers/cluster.ts';
import { type KubeProxyCluster, startKubeProxyCluster } from './helpers/kubeProxyCluster.ts';
import { curl, startPortForward } from './helpers/kubeStreams.ts';

const ROLE = `kind: role
metadata: {name: kube-dev}
spec:
  allow: {kubernetes_labels: {env: dev}, kubernetes_users: [alice-k8s], kubernetes_groups: [devs, viewers]}
`;

const KUBECTL_DIR = dirname(realpathSync(Bun.which('kubectl') ?? '/usr/bin/kubectl'));
const KUBECTL_129 = join(KUBECTL_DIR, 'kubectl.1.29');

const AuditEvents = v.array(v.record(v.string(), v.unknown()));

describe('kubectl through tp start, a tp agent from tp.yaml and the stand-in API server', () => {
  let dir: string;
  let c: KubeProxyCluster;
  /** Audit events of `type` that `match` accepts, once at least one is there (the proxy's spool sends them). */
  const audited = async (type: string, match: (e: Record<string, unknown>) => boolean) => {
    let found: Record<string, unknown>[] = [];
    await waitFor(`a ${type} event`, async () => {
      const all = v.parse(
        AuditEvents,
        JSON.parse(await c.admin(['audit', 'search', '--type', type, '--format', 'json'])),
      );
      found = all.filter(match);
      return found.length > 0;
    });
    return found;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-kube-e2e-'));
    c = await startKubeProxyCluster(dir, ROLE);
    await c.addUser('alice', ['kube-dev']);
    await c.addUser('bob', ['kube-dev']);
    await c.addUser('carol', ['kube-dev']);
    await c.startAgent([{ name: 'k1' }, { name: 'k2', labels: { env: 'prod' } }]);
    await c.waitOnline('alice', ['k1']);
  }, 120_000);
  afterAll(async () => {
    await c?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('kubectl get pods prints the pods; the API server saw the roles impersonation from the agent, none of the client headers', async () => {
    const home = await c.kubeLogin('alice', 'k1');
    const before = c.api.requests.length;
    // --as within the grants is honoured; the Impersonate-Uid beside it is the client's own, and dropped.
    const r = await home.kubectl(['get', 'pods', '--as', 'alice-k8s', '--as-uid', '0']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\np1\s+1\/1\s+Running\s+0\s+\d+s\np2\s+1\/1\s+Running/,
    );
    const seen = c.api.requests.slice(before);
    const list = seen.findLast((q) => q.target.startsWith('/api/v1/namespaces/default/pods'))!;
    expect(list).toMatchObject({ authenticated: 'tp-agent', user: 'alice-k8s', groups: ['devs', 'viewers'] });
    expect(list.headers['user-agent']).toStartWith('kubectl/v1.33.');
    for (const q of seen) {
      expect(q.headers['impersonate-uid']).toBeUndefined();
      expect(q.headers.authorization).toBeUndefined();
    }
    const [event] = await audited(
      'kube.request',
      (e) => e.user === 'alice' && e.path === '/api/v1/namespaces/default/pods' && e.verb === 'list',
    );
    expect(event).toMatchObject({
      success: true,
      kube_cluster: 'k1',
      method: 'GET',
      status: 200,
      namespace: 'default',
      kubernetes_user: 'alice-k8s',
      kubernetes_groups: ['devs', 'viewers'],
    });
  });

  for (const [version, binary] of [
    ['1.33', undefined],
    ['1.29', KUBECTL_129],
  ] as const) {
    const upgrade = version === '1.29' ? 'spdy/3.1' : 'websocket';
    test(`kubectl ${version}: get pods prints the pods with the normal columns`, async () => {
      const r = await (await c.kubeLogin('alice', 'k1')).kubectl(['get', 'pods'], { binary });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\np1\s+1\/1\s+Running/);
      const list = c.api.requests.findLast((q) => q.target.startsWith('/api/v1/namespaces/default/pods'))!;
      // The dispatcher runs kubectl.1.33 for the stand-in's minor; a binary named directly puts its file name first.
      expect(list.headers['user-agent']).toMatch(
        new RegExp(`^kubectl(\\.${version.replace('.', '\\.')})?/v${version}\\.`),
      );
      expect(list).toMatchObject({ user: 'alice-k8s', groups: ['devs', 'viewers'] });
    });

    test(`kubectl ${version}: exec p1 -- sh -c 'exit 3' exits 3 over ${upgrade}; exec -i delivers stdin and its end`, async () => {
      const home = await c.kubeLogin('alice', 'k1');
      const r = await home.kubectl(['exec', 'p1', '--', 'sh', '-c', 'echo hi; exit 3'], { binary });
      expect(r.stdout).toBe('hi\n');
      expect(r.code).toBe(3);
      const ex = c.api.requests.findLast((q) => q.target.includes('/exec'))!;
      expect(ex.headers.upgrade?.toLowerCase()).toBe(upgrade);
      expect(ex).toMatchObject({ authenticated: 'tp-agent', user: 'alice-k8s', groups: ['devs', 'viewers'] });
      const i = await home.kubectl(['exec', '-i', 'p1', '--', 'wc', '-c'], { stdin: 'four', binary });
      expect(i.code).toBe(0);
      expect(i.stdout.trim()).toBe('4');
    });

    test(`kubectl ${version}: port-forward, then curl through it returns the pod port's answer`, async () => {
      const pf = await startPortForward(await c.kubeLogin('alice', 'k1'), 'p1', 80, { binary });
      try {
        for (const path of ['/a', '/b']) {
          const r = await curl(`http://127.0.0.1:${pf.port}${path}`);
          expect(r.stderr).toBe('');
          expect(r.body).toBe(c.api.podAnswer);
        }
      } finally {
        await pf.stop();
      }
      const req = c.api.requests.findLast((q) => q.target.includes('/portforward'))!;
      expect(req).toMatchObject({ user: 'alice-k8s', groups: ['devs', 'viewers'] });
    });

    test(`kubectl ${version}: logs -f delivers each line as it is written, and ends when the log ends`, async () => {
      const pod = version === '1.29' ? 'p1' : 'p2';
      const cmd = (await c.kubeLogin('alice', 'k1')).command(['logs', '-f', pod], binary);
      c.api.appendLog(pod, 'first line');
      const child = Bun.spawn(cmd.cmd, { env: { ...process.env, ...cmd.env }, stdout: 'pipe', stderr: 'pipe' });
      const reader = child.stdout.getReader();
      let out = '';
      const until = async (text: string) => {
        const deadline = Date.now() + 10_000;
        while (!out.includes(text) && Date.now() < deadline) {
          const next = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => undefined)]);
          if (!next || next.done) break;
          out += new TextDecoder().decode(next.value);
        }
        expect(out).toContain(text);
      };
      try {
        await until('first line\n');
        // The second line is written only now: it arrives while the request is still open, unbuffered.
        c.api.appendLog(pod, 'second line');
        await until('second line\n');
        c.api.endLog(pod);
        expect(await child.exited).toBe(0);
      } finally {
        child.kill();
      }
    });
  }

  test('a cluster the roles do not reach, named by SNI, is Error from server (Forbidden) with the reason; audited', async () => {
    const before = c.api.requests.length;
    const r = await c.kubectl('alice', 'k2').kubectl(['get', 'pods']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Error from server (Forbidden)');
    expect(r.stderr).toContain('tp: access to kubernetes cluster "k2" is not allowed by your roles');
    expect(c.api.requests.length).toBe(before);
    const [event] = await audited('auth.attempt', (e) => e.kind === 'kube' && e.target === 'k2');
    expect(event).toMatchObject({ success: false, user: 'alice', via: 'kube' });
  });

  test('kubectl --as outside the grants is Forbidden with the reason even on a fresh cache (discovery refused)', async () => {
    const before = c.api.requests.length;
    const r = await (await c.kubeLogin('alice', 'k1')).kubectl(['get', 'pods', '--as', 'root']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'Error from server (Forbidden): tp: impersonating user "root" is not allowed by your roles; allowed users: alice-k8s',
    );
    expect(c.api.requests.slice(before).some((q) => q.user === 'root')).toBe(false);
  });

  test('a locked user is refused with the lock message; the lock removed, the same kubeconfig works again', async () => {
    const home = await c.kubeLogin('bob', 'k1');
    expect((await home.kubectl(['get', 'pods'])).code).toBe(0);
    const lock = v.parse(
      v.object({ id: v.string() }),
      JSON.parse(await c.admin(['locks', 'add', '--user', 'bob', '--message', 'laptop stolen', '--format', 'json'])),
    );
    try {
      // The proxy sees the lock on its watched state: poll the refusal rather than guess its delay.
      let r = { code: 0, stderr: '' };
      await waitFor('the lock reaches the proxy', async () => {
        r = await home.kubectl(['get', 'pods']);
        return r.code !== 0;
      });
      expect(r.stderr).toContain('Error from server (Forbidden)');
      expect(r.stderr).toContain('laptop stolen');
    } finally {
      await c.admin(['locks', 'rm', lock.id]);
    }
    await waitFor('the unlock reaches the proxy', async () => (await home.kubectl(['get', 'pods'])).code === 0);
  });

  test('a lock on the user ends a running kubectl exec within 1 s', async () => {
    const home = await c.kubeLogin('carol', 'k1');
    const cmd = home.command(['exec', 'p1', '--', 'sleep', '30']);
    const running = c.api.execsRunning();
    const child = Bun.spawn(cmd.cmd, { env: { ...process.env, ...cmd.env }, stdout: 'pipe', stderr: 'pipe' });
    try {
      await waitFor('the exec running at the API server', () => c.api.execsRunning() > running);
      const lock = v.parse(
        v.object({ id: v.string() }),
        JSON.parse(await c.admin(['locks', 'add', '--user', 'carol', '--message', 'offboarded', '--format', 'json'])),
      );
      const t0 = performance.now();
      const code = await Promise.race([child.exited, Bun.sleep(5_000).then(() => 'still running')]);
      const ms = performance.now() - t0;
      await c.admin(['locks', 'rm', lock.id]);
      expect(code).not.toBe(0);
      expect(code).not.toBe('still running');
      expect(ms).toBeLessThan(1_000);
    } finally {
      child.kill();
    }
  });

  test("a cluster whose agent is gone is the proxy's gateway error, naming the cluster; nothing hangs", async () => {
    const agent = await c.startAgent([{ name: 'k3' }]);
    await c.waitOnline('alice', ['k3']);
    const home = await c.kubeLogin('alice', 'k3');
    expect((await home.kubectl(['get', 'pods'])).code).toBe(0);
    await agent.stop();
    let r = { code: 0, stderr: '' };
    await waitFor('the proxy seeing the agent gone', async () => {
      r = await home.kubectl(['get', 'pods', '--request-timeout=10s']);
      return r.code !== 0;
    });
    expect(r.stderr).toContain(
      'Error from server (InternalError): an error on the server ("tp: kube \\"k3\\" is offline',
    );
  });
});
