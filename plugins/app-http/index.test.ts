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
