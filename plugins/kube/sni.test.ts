import { describe, expect, test } from 'bun:test';
import { parseKubeFlag } from './index.ts';
import { isKubeServerName, kubeServerName, routeFromSni } from './sni.ts';

describe('kube server names', () => {
  test('<cluster>.kube.<tp cluster> names the cluster; anything else is not kube', () => {
    expect(kubeServerName('k1', 'example.com')).toBe('k1.kube.example.com');
    expect(routeFromSni('K1.kube.example.com')).toEqual({ target: 'k1', route: {} });
    expect(isKubeServerName('k1.kube.example.com')).toBe(true);
    const others: (string | false | undefined)[] = [
      'example.com',
      'kube.example.com',
      'a.b.kube.example.com',
      '',
      undefined,
      false,
    ];
    for (const name of others) {
      expect(isKubeServerName(name)).toBe(false);
      expect(() => routeFromSni(name)).toThrow('names no kube cluster');
    }
  });

  test('--kube NAME=PATH becomes a kube.clusters entry', () => {
    expect(parseKubeFlag('k1=/etc/tp/k1.kubeconfig')).toEqual({ name: 'k1', kubeconfig: '/etc/tp/k1.kubeconfig' });
    expect(parseKubeFlag('nothing')).toBeUndefined();
  });
});
