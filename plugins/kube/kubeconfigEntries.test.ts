import { describe, expect, test } from 'bun:test';
import { parse } from 'yaml';
import { addLogin, currentContext, type KubeLoginEntry, removeLogins, tpLogins } from './kubeconfigEntries.ts';

// A kubeconfig as people have them: their own cluster, user and context, a comment, fields tp knows nothing of.
const MINE = `# my clusters
apiVersion: v1
kind: Config
preferences: { colors: true }
clusters:
  - name: prod
    cluster:
      server: https://prod.example.com:6443
      certificate-authority-data: UFJPRA==
      extensions:
        - name: vendor
          extension: { x: 1 }
users:
  - name: me
    user:
      token: secret-token # keep me
contexts:
  - name: prod
    context: { cluster: prod, user: me, namespace: web }
current-context: prod
x-unknown-top-level: keep
`;

function entry(kube: string, tpCluster = 'tp.test'): KubeLoginEntry {
  return {
    name: `${tpCluster}-${kube}`,
    cluster: {
      server: 'https://127.0.0.1:3080',
      'certificate-authority-data': 'Q0E=',
      'tls-server-name': `${kube}.kube.${tpCluster}`,
    },
    user: {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: '/usr/bin/tp',
        args: ['kube', 'credentials', '--cluster', kube],
        interactiveMode: 'IfAvailable',
        provideClusterInfo: false,
      },
    },
    mark: { proxy: '127.0.0.1:3080', tp_cluster: tpCluster, kube_cluster: kube },
  };
}

type Named = { name: string } & Record<string, unknown>;
const names = (doc: Record<string, Named[]>, key: string) => doc[key]!.map((x) => x.name);

describe('kubeconfig entries of tp kube login', () => {
  test('login adds a cluster, user and current context; every other entry, field and comment stays', () => {
    const out = addLogin(MINE, entry('k1'));
    const doc = parse(out) as Record<string, Named[]>;
    const top = doc as Record<string, unknown>;
    expect(names(doc, 'clusters')).toEqual(['prod', 'tp.test-k1']);
    expect(names(doc, 'users')).toEqual(['me', 'tp.test-k1']);
    expect(names(doc, 'contexts')).toEqual(['prod', 'tp.test-k1']);
    expect(top['current-context']).toBe('tp.test-k1');
    const mine = parse(MINE) as Record<string, Named[]>;
    expect(doc.clusters![0]).toEqual(mine.clusters![0]!);
    expect(doc.users![0]).toEqual(mine.users![0]!);
    expect(doc.contexts![0]).toEqual(mine.contexts![0]!);
    expect(top.preferences).toEqual({ colors: true });
    expect(top['x-unknown-top-level']).toBe('keep');
    expect(out).toContain('# my clusters');
    expect(out).toContain('token: secret-token # keep me');
    expect(doc.clusters![1]!.cluster).toEqual(entry('k1').cluster);
    expect(doc.users![1]!.user).toEqual(entry('k1').user);
    expect(doc.contexts![1]!.context).toEqual({
      cluster: 'tp.test-k1',
      user: 'tp.test-k1',
      extensions: [
        {
          name: 'tp',
          extension: { proxy: '127.0.0.1:3080', tp_cluster: 'tp.test', kube_cluster: 'k1', previous_context: 'prod' },
        },
      ],
    });
  });

  test('logout after login gives back the very same file', () => {
    const { text, removed } = removeLogins(addLogin(MINE, entry('k1')), { tpCluster: 'tp.test', kubeCluster: 'k1' });
    expect(removed).toEqual(['tp.test-k1']);
    expect(text).toBe(MINE);
  });

  test('logging in again replaces the entries in place and keeps the context to go back to', () => {
    const once = addLogin(MINE, entry('k1'));
    const twice = addLogin(once, { ...entry('k1'), cluster: { ...entry('k1').cluster, server: 'https://new:443' } });
    const doc = parse(twice) as Record<string, Named[]>;
    expect(names(doc, 'clusters')).toEqual(['prod', 'tp.test-k1']);
    expect((doc.clusters![1]!.cluster as Record<string, string>).server).toBe('https://new:443');
    expect(tpLogins(twice).get('tp.test-k1')?.previous_context).toBe('prod');
    expect(removeLogins(twice, { kubeCluster: 'k1' }).text).toBe(MINE);
  });

  test('two clusters, two contexts; logging out of either order restores the context current before both', () => {
    const both = addLogin(addLogin(MINE, entry('k1')), entry('k2'));
    expect(currentContext(both)).toBe('tp.test-k2');
    expect([...tpLogins(both).keys()]).toEqual(['tp.test-k1', 'tp.test-k2']);
    // k1 first: k2 (current) now falls back to prod, k1's own previous.
    const noK1 = removeLogins(both, { kubeCluster: 'k1' }).text;
    expect(currentContext(noK1)).toBe('tp.test-k2');
    expect(tpLogins(noK1).get('tp.test-k2')?.previous_context).toBe('prod');
    expect(removeLogins(noK1, { kubeCluster: 'k2' }).text).toBe(MINE);
    // k2 first: back to k1, then to prod.
    const noK2 = removeLogins(both, { kubeCluster: 'k2' }).text;
    expect(currentContext(noK2)).toBe('tp.test-k1');
    expect(removeLogins(noK2, { kubeCluster: 'k1' }).text).toBe(MINE);
    // All of one tp cluster at once.
    expect(removeLogins(both, { tpCluster: 'tp.test' })).toEqual({ text: MINE, removed: ['tp.test-k1', 'tp.test-k2'] });
  });

  test("logout takes only the selected tp cluster's entries, never the user's own", () => {
    const two = addLogin(addLogin(MINE, entry('k1', 'a.test')), entry('k1', 'b.test'));
    const r = removeLogins(two, { tpCluster: 'b.test' });
    expect(r.removed).toEqual(['b.test-k1']);
    expect([...tpLogins(r.text).keys()]).toEqual(['a.test-k1']);
    expect(removeLogins(MINE, {})).toEqual({ text: MINE, removed: [] });
  });

  test('a context the user switched to stays current after logout', () => {
    const withK1 = addLogin(MINE, entry('k1')).replace('current-context: tp.test-k1', 'current-context: prod');
    expect(currentContext(removeLogins(withK1, { kubeCluster: 'k1' }).text)).toBe('prod');
  });

  test('an empty or missing kubeconfig gets a complete one; logout then leaves no current context', () => {
    const out = addLogin('', entry('k1'));
    const doc = parse(out) as Record<string, unknown>;
    expect(doc).toMatchObject({ apiVersion: 'v1', kind: 'Config', 'current-context': 'tp.test-k1' });
    const back = parse(removeLogins(out, {}).text) as Record<string, unknown>;
    expect(back).toEqual({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] });
    // kubectl writes `users: null` for an empty list.
    expect(currentContext(addLogin('apiVersion: v1\nusers: null\n', entry('k1')))).toBe('tp.test-k1');
  });

  test('an entry of the same name that tp did not write is refused, not overwritten', () => {
    const clash = MINE.replace('- name: prod\n    context', '- name: tp.test-k1\n    context');
    expect(() => addLogin(clash, entry('k1'), 'kubeconfig /x')).toThrow(
      'kubeconfig /x already has an entry "tp.test-k1" that tp did not write',
    );
    const userClash = MINE.replace('- name: me', '- name: tp.test-k1');
    expect(() => addLogin(userClash, entry('k1'))).toThrow('that tp did not write');
  });

  test('a file that is not a kubeconfig is refused naming it', () => {
    expect(() => addLogin('- a\n- b\n', entry('k1'), 'kubeconfig /x')).toThrow('kubeconfig /x is not a kubeconfig');
    expect(() => addLogin('a: [\n', entry('k1'), 'kubeconfig /x')).toThrow('kubeconfig /x is not valid YAML');
    expect(() => addLogin('clusters: 3\n', entry('k1'))).toThrow('field "clusters" is not a list');
  });
});
