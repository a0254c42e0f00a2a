import { expect, test } from 'bun:test';
import { agentEntries } from '../core/compose/node.ts';
import { parseConfig } from '../core/config/load.ts';
import { loadRegistry } from '../core/plugin/registry.ts';
import { PLUGINS } from '../plugins/index.ts';

test('an agent runs for SSH, for databases alone when ssh is disabled, and not at all with neither', async () => {
  const registry = await loadRegistry(PLUGINS);
  const cfg = (yaml: string) => parseConfig(yaml, 'tp.yaml', registry.sections());
  const db = 'db:\n  databases:\n    - {name: pg1, protocol: postgres, uri: "127.0.0.1:5432"}\n';
  expect([...agentEntries(cfg('ssh: {enabled: true}\n'), registry).keys()]).toEqual(['ssh']);
  expect([...agentEntries(cfg(`ssh: {enabled: false}\n${db}`), registry).keys()]).toEqual(['db-postgres']);
  expect(agentEntries(cfg('ssh: {enabled: false}\n'), registry).size).toBe(0);
});
