// kubernetes_resources enforced by the kube agent per request, exec and port-forward included, with stock kubectl:
// refusals are `Error from server (Forbidden)` with tp's reason, audited, and never reach the API server.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Role } from '../../core/rbac/index.ts';
import { KUBE_ROLE, type KubeAgentHarness, startKubeAgentHarness } from '../../test/helpers/kubeAgentHarness.ts';
import { until } from '../../test/helpers/pgAgentHarness.ts';

const ROLE: Role = {
  ...KUBE_ROLE,
  spec: {
    ...KUBE_ROLE.spec,
    allow: {
      ...KUBE_ROLE.spec.allow,
      kubernetes_resources: [{ kind: 'pods', namespace: 'default', verbs: ['get', 'list', 'exec'] }],
    },
    deny: { kubernetes_resources: [{ kind: 'pods', namespace: 'default', name: 'p1', verbs: ['exec'] }] },
  },
};

for (const minor of [29, 33]) {
  describe(`kube agent: kubernetes_resources with stock kubectl 1.${minor}`, () => {
    let h: KubeAgentHarness;
    beforeAll(async () => {
      h = await startKubeAgentHarness({ minor, roles: [ROLE] });
    });
    afterAll(async () => {
      await h?.close();
    });
    const sent = (what = '/pods') => h.api.requests.filter((q) => q.target.includes(what)).length;

    test('an allowed list in the allowed namespace passes; another namespace, or all of them, is Forbidden', async () => {
      const home = h.home();
      const ok = await home.kubectl(['get', 'pods']);
      expect(ok.stderr).toBe('');
      expect(ok.stdout).toContain('p1');
      const before = sent();
      const other = await home.kubectl(['get', 'pods', '-n', 'kube-system']);
      expect(other.code).not.toBe(0);
      expect(other.stderr).toContain('Error from server (Forbidden)');
      expect(other.stderr).toContain(
        'tp: kubernetes_resources of your roles do not allow "list" on pods in namespace "kube-system"',
      );
      const all = await home.kubectl(['get', 'pods', '-A']);
      expect(all.stderr).toContain('do not allow "list" on pods across all namespaces (name a namespace with -n)');
      expect(sent()).toBe(before);
      expect(h.events.findLast((e) => e.type === 'kube.request')).toMatchObject({
        success: false,
        status: 403,
        verb: 'list',
      });
    });

    test('a verb the rules do not grant (delete) is Forbidden', async () => {
      const r = await h.home().kubectl(['delete', 'pod', 'p1', '--wait=false']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('do not allow "delete" on pods/p1 in namespace "default"');
    });

    test('exec on a denied pod is refused before the upgrade, with the reason and an exec event', async () => {
      const before = sent('/exec');
      const r = await h.home().kubectl(['exec', 'p1', '--', 'echo', 'never']);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(
        'kubernetes_resources of role "kube-access" deny "exec" on pods/p1 in namespace "default"',
      );
      expect(sent('/exec')).toBe(before);
      await until('the refused exec event', () => h.events.some((e) => e.type === 'exec' && e.success === false));
      expect(h.events.findLast((e) => e.type === 'exec')).toMatchObject({
        success: false,
        pod: 'p1',
        namespace: 'default',
        command: 'echo never',
        status: 403,
      });
    });

    test('port-forward, not among the granted verbs, is refused and audited as port_forward', async () => {
      const r = await h.home().kubectl(['port-forward', 'p1', ':80']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('tp: kubernetes_resources of your roles do not allow "portforward" on pods/p1');
      await until('the refused port_forward event', () => h.events.some((e) => e.type === 'port_forward'));
      expect(h.events.findLast((e) => e.type === 'port_forward')).toMatchObject({
        success: false,
        pod: 'p1',
        error: 'kubernetes_resources of your roles do not allow "portforward" on pods/p1 in namespace "default"',
      });
      expect(h.api.forwards.length).toBe(0);
    });
  });
}
