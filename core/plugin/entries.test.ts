import { describe, expect, test } from 'bun:test';
import * as v from 'valibot';
import { ConfigError, parseConfig } from '../config/load.ts';
import { definePlugin } from './define.ts';
import { pluginEntries } from './entries.ts';
import { PluginRegistry } from './registry.ts';

const Entry = v.strictObject({ name: v.string(), protocol: v.string(), uri: v.string() });
const dbPlugin = (protocol: string) =>
  definePlugin<v.InferOutput<typeof Entry>>({
    name: `db-${protocol}`,
    kind: 'db',
    alpn: [`tp-db-${protocol}`],
    config: Entry,
    section: { key: 'db', list: 'databases' },
    claims: (e) => (e as { protocol?: unknown }).protocol === protocol,
    flag: {
      name: 'db',
      description: `NAME=${protocol}://HOST:PORT`,
      parse: (value) => {
        const m = new RegExp(`^([^=]+)=${protocol}://(.+)$`).exec(value);
        return m ? { name: m[1], protocol, uri: m[2] } : undefined;
      },
    },
  });
const registry = new PluginRegistry([
  definePlugin({ name: 'ssh', kind: 'node', alpn: ['tp-ssh'], endToEnd: true }),
  dbPlugin('postgres'),
  dbPlugin('mysql'),
]);
const sections = registry.sections();

describe('plugin sections of tp.yaml', () => {
  test('each entry goes to the plugin that claims it; flags add entries; a plugin without a section always runs', () => {
    const cfg = parseConfig(
      'db:\n  databases:\n    - {name: pg1, protocol: postgres, uri: "127.0.0.1:5432"}\n    - {name: m1, protocol: mysql, uri: "127.0.0.1:3306"}\n',
      'tp.yaml',
      sections,
    );
    const got = pluginEntries(registry, cfg.sections, { db: ['pg2=postgres://127.0.0.1:5433'] });
    expect(got.get('ssh')).toEqual([]);
    expect(got.get('db-postgres')).toEqual([
      { name: 'pg1', protocol: 'postgres', uri: '127.0.0.1:5432' },
      { name: 'pg2', protocol: 'postgres', uri: '127.0.0.1:5433' },
    ]);
    expect(got.get('db-mysql')).toEqual([{ name: 'm1', protocol: 'mysql', uri: '127.0.0.1:3306' }]);
  });

  test('a disabled section serves nothing; without the sections given, the key is unknown', () => {
    const cfg = parseConfig(
      'db:\n  enabled: false\n  databases: [{name: pg1, protocol: postgres, uri: x}]\n',
      'tp.yaml',
      sections,
    );
    expect(pluginEntries(registry, cfg.sections).has('db-postgres')).toBe(false);
    expect(() => parseConfig('db: {databases: []}\n')).toThrow('tp.yaml:1: unknown key "db"');
  });

  test('mistakes name where they are', () => {
    expect(() => parseConfig('db:\n  databse: []\n', 'tp.yaml', sections)).toThrow(
      'tp.yaml:2: unknown key "db.databse"',
    );
    const claimedByNone = parseConfig('db:\n  databases: [{name: r, protocol: redis, uri: x}]\n', 'tp.yaml', sections);
    expect(() => pluginEntries(registry, claimedByNone.sections)).toThrow(
      'db.databases.0: no plugin serves this entry (plugins of "db": db-postgres, db-mysql)',
    );
    const bad = parseConfig('db:\n  databases: [{name: pg1, protocol: postgres}]\n', 'tp.yaml', sections);
    expect(() => pluginEntries(registry, bad.sections)).toThrow(ConfigError);
    const twice = parseConfig('db:\n  databases: [{name: a, protocol: mysql, uri: x}]\n', 'tp.yaml', sections);
    expect(() => pluginEntries(registry, twice.sections, { db: ['a=postgres://h:1'] })).toThrow(
      'the name "a" is used twice in "db"',
    );
    expect(() => pluginEntries(registry, {}, { db: ['a=redis://h:1'] })).toThrow(
      '--db a=redis://h:1: not understood by any plugin of this build',
    );
  });

  test('plugins sharing a section must agree on its list', () => {
    const odd = definePlugin({ name: 'db-odd', kind: 'db', alpn: ['tp-db-odd'], section: { key: 'db', list: 'dbs' } });
    expect(() => new PluginRegistry([dbPlugin('postgres'), odd]).sections()).toThrow('disagree');
  });
});
