// The kube agent side with stock kubectl through serve(), in front of the stand-in API server.
import { afterAll, beforeAll, describe, expect, spyOn, test } from 'bun:test';
import { type KubeAgentHarness, startKubeAgentHarness } from '../../test/helpers/kubeAgentHarness.ts';

describe('kube agent: stock kubectl 1.33 through serve()', () => {
  let h: KubeAgentHarness;
  beforeAll(async () => {
    h = await startKubeAgentHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  test('kubectl get pods prints the pods; the API server saw the roles impersonation and the agent, not the client', async () => {
    const r = await h.home().kubectl(['get', 'pods']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const row = /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\np1\s+1\/1\s+Running\s+0\s+(\d+)s\n$/.exec(r.stdout);
    // The pod was created a minute before the fixture started; a slow run only adds seconds to its age.
    expect(Number(row?.[1])).toBeGreaterThanOrEqual(60);
    expect(Number(row?.[1])).toBeLessThan(120);
    const list = h.api.requests.findLast((q) => q.target.startsWith('/api/v1/namespaces/default/pods'))!;
    expect(list).toMatchObject({ authenticated: 'tp-agent', user: 'alice', groups: ['devs', 'viewers'] });
    expect(list.headers.authorization).toBeUndefined();
    const event = h.events.findLast((e) => e.type === 'kube.request')!;
    expect(event).toMatchObject({
      success: true,
      user: 'alice@example.com',
      kube_cluster: 'k1',
      method: 'GET',
      path: '/api/v1/namespaces/default/pods',
      verb: 'list',
      namespace: 'default',
      status: 200,
      kubernetes_user: 'alice',
      kubernetes_groups: ['devs', 'viewers'],
    });
  });

  test("kubectl exec p1 -- sh -c 'exit 3' exits 3 through the upgrade; stdin and its end pass; statuses are audited", async () => {
    const r = await h.home().kubectl(['exec', 'p1', '--', 'sh', '-c', 'echo hi; exit 3']);
    expect(r.stdout).toBe('hi\n');
    expect(r.code).toBe(3);
    const i = await h.home().kubectl(['exec', '-i', 'p1', '--', 'wc', '-c'], { stdin: 'four' });
    expect(i.code).toBe(0);
    expect(i.stdout.trim()).toBe('4');
    const ex = h.api.requests.findLast((q) => q.target.includes('/exec'))!;
    expect(ex).toMatchObject({ user: 'alice', groups: ['devs', 'viewers'] });
    expect(h.events.findLast((e) => e.type === 'kube.request')).toMatchObject({
      upgrade: true,
      verb: 'exec',
      status: 101,
    });
    const missing = await h.home().kubectl(['get', 'pod', 'nope']);
    expect(missing.stderr).toContain('pods "nope" not found');
    expect(h.events.findLast((e) => e.type === 'kube.request')).toMatchObject({
      success: true,
      path: '/api/v1/namespaces/default/pods/nope',
      verb: 'get',
      status: 404,
    });
  });

  test('a lock (the session signal) ends a running exec within 1 s', async () => {
    const c = h.home().command(['exec', 'p1', '--', 'sleep', '30']);
    const child = Bun.spawn(c.cmd, { env: { ...process.env, ...c.env }, stdout: 'pipe', stderr: 'pipe' });
    const deadline = Date.now() + 10_000;
    while (!h.api.requests.some((q) => q.target.includes('command=sleep')) && Date.now() < deadline)
      await Bun.sleep(20);
    await Bun.sleep(200); // let the upgrade complete: the abort must hit the raw phase, not the head read
    const t0 = performance.now();
    h.abortAll();
    const code = await child.exited;
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(code).not.toBe(0);
  });

  test('kubectl --as within the grants is honoured; outside them is Forbidden with the reason, audited', async () => {
    h.user.traits = { kube_users: ['alice', 'ops'], kube_groups: ['devs'] };
    try {
      // One home: the second run has discovery cached, so kubectl prints the refused request's own Status.
      const home = h.home();
      const ok = await home.kubectl(['get', 'pods', '--as', 'ops']);
      expect(ok.code).toBe(0);
      expect(h.api.requests.at(-1)).toMatchObject({ user: 'ops', groups: ['devs'] });
      const before = h.api.requests.length;
      const no = await home.kubectl(['get', 'pods', '--as', 'root']);
      expect(no.code).not.toBe(0);
      expect(no.stderr).toContain('Error from server (Forbidden)');
      expect(no.stderr).toContain('impersonating user "root" is not allowed by your roles');
      expect(h.api.requests.slice(before).some((q) => q.user === 'root')).toBe(false);
      expect(h.events.findLast((e) => e.type === 'kube.request')).toMatchObject({ success: false, status: 403 });
    } finally {
      h.user.traits = { kube_users: ['alice'], kube_groups: ['devs', 'viewers'] };
    }
  });
});

describe('kube agent: start-up and older kubectl', () => {
  test('an agent whose credentials may not impersonate warns at start, naming the cluster and the fix', async () => {
    const lines: string[] = [];
    const spy = spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    let h: KubeAgentHarness | undefined;
    try {
      h = await startKubeAgentHarness({ impersonators: [] });
    } finally {
      spy.mockRestore();
      await h?.close();
    }
    const warning = lines.find((l) => l.includes('may not impersonate'));
    expect(warning).toContain('kube cluster \\"k1\\"');
    expect(warning).toContain('ClusterRole grants');
  });

  test('kubectl 1.29 (picked by the dispatcher from /version) lists pods through the agent', async () => {
    const h = await startKubeAgentHarness({ minor: 29 });
    try {
      const r = await h.home().kubectl(['get', 'pods']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('p1 ');
      const list = h.api.requests.findLast((q) => q.target.startsWith('/api/v1/namespaces/default/pods'))!;
      expect(list.headers['user-agent']).toStartWith('kubectl/v1.29.');
      expect(list).toMatchObject({ user: 'alice', groups: ['devs', 'viewers'] });
    } finally {
      await h.close();
    }
  });
});
