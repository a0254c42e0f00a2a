import { expect, test } from 'bun:test';
import { parseConfig } from '../../core/config/load.ts';
import { pluginEntries } from '../../core/plugin/entries.ts';
import { PluginRegistry } from '../../core/plugin/registry.ts';
import { hostContextStub } from '../../test/helpers/pluginContext.ts';
import { startAppAgent } from './agent.ts';
import appHttp, { type AppEntry } from './index.ts';

const registry = new PluginRegistry([appHttp]);

test('tp.yaml apps.apps and --app give the plugin its entries, with defaults; the heartbeat names uri and public_addr', () => {
  const yaml =
    'apps:\n  enabled: true\n  apps:\n    - name: grafana\n      uri: http://127.0.0.1:3000\n' +
    '      public_addr: grafana.tp.example.com\n      labels: {env: dev}\n' +
    '      rewrite: {headers: ["X-Forwarded-Login: {{internal.logins}}"], redirect: [localhost]}\n';
  const cfg = parseConfig(yaml, 'tp.yaml', registry.sections());
  const got = pluginEntries(registry, cfg.sections, { app: ['jenkins=https://10.0.0.5:8443'] }).get('app-http');
  expect(got).toEqual([
    {
      name: 'grafana',
      uri: 'http://127.0.0.1:3000',
      public_addr: 'grafana.tp.example.com',
      labels: { env: 'dev' },
      rewrite: { headers: ['X-Forwarded-Login: {{internal.logins}}'], redirect: ['localhost'] },
      insecure_skip_verify: false,
    },
    {
      name: 'jenkins',
      uri: 'https://10.0.0.5:8443',
      labels: {},
      rewrite: { headers: [], redirect: [] },
      insecure_skip_verify: false,
    },
  ]);
  const agent = startAppAgent({ ...hostContextStub('/x') } as never, got as AppEntry[]);
  expect(agent.resources()).toEqual([
    {
      name: 'grafana',
      labels: { env: 'dev' },
      spec: { uri: 'http://127.0.0.1:3000', public_addr: 'grafana.tp.example.com' },
    },
    { name: 'jenkins', labels: {}, spec: { uri: 'https://10.0.0.5:8443' } },
  ]);
  expect(() =>
    pluginEntries(
      registry,
      parseConfig('apps:\n  apps: [{name: a, uri: "ftp://x"}]\n', 'tp.yaml', registry.sections()).sections,
    ),
  ).toThrow('expected http://HOST:PORT');
});

test('app-http owns the default app hosts under a DNS public host and the public_addr hosts of its apps', () => {
  const record = (name: string, plugin: string, spec: Record<string, unknown>) => ({
    kind: 'app',
    name,
    plugin,
    labels: {},
    hostId: 'h1',
    spec,
    lastSeen: '',
  });
  const proxy = {
    cluster: 'example.com',
    publicHost: 'tp.example.com',
    resources: () => [
      record('wiki', 'app-http', { uri: 'http://10.0.0.1', public_addr: 'wiki.corp.example:443' }),
      record('other', 'app-fixture', { uri: 'http://10.0.0.2', public_addr: 'other.corp.example' }),
    ],
  };
  const owns = (n: string) => appHttp.sni?.(n, proxy);
  expect(owns('grafana.tp.example.com')).toBe(true);
  expect(owns('GRAFANA.tp.example.com')).toBe(true);
  expect(owns('wiki.corp.example')).toBe(true);
  // Not the proxy's own name, not deeper names (kube's <name>.kube.<cluster>), not another plugin's app.
  expect(owns('tp.example.com')).toBe(false);
  expect(owns('a.b.tp.example.com')).toBe(false);
  expect(owns('other.corp.example')).toBe(false);
  expect(owns('grafana.tp.example.com.evil.example')).toBe(false);
  // An address as the public host names no app hosts.
  expect(appHttp.sni?.('grafana.127.0.0.1', { cluster: 'c', publicHost: '127.0.0.1' })).toBe(false);
});
