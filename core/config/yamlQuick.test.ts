import { describe, expect, test } from 'bun:test';
import { parse } from 'yaml';
import { parseConfig } from './load.ts';
import { mayRepeatKeys, quickYaml } from './yamlQuick.ts';

// Shapes tp.yaml takes in the README, `tp agent install` and the tests.
const CONFIGS = [
  'cluster_name: example.test\nauth: {listen: 127.0.0.1:3025, second_factor: "off"}\nproxy:\n  listen: 0.0.0.0:3080\n  ssh_listen: 127.0.0.1:3023\n',
  '# an agent\nssh:\n  name: pi-7\n  labels: {env: prod, "rack": "b2"}\n  commands:\n    - name: uptime\n      command: [uptime, -p]\n      period: 1m\n',
  "db:\n  enabled: true\n  databases:\n    - {name: pg1, protocol: postgres, uri: '127.0.0.1:5432', labels: {env: dev}}\n    - name: maria1\n      protocol: mysql\n      uri: 127.0.0.1:3306\n",
  'proxy:\n  public_addr: tp.example.com:443\n  tunnel_keepalive: 10s\n  tunnel_accept_rate: 500\n  web_session_ttl: 12h\n',
];

describe('tp.yaml through the quick parser', () => {
  test('reads what the yaml library reads, for the shapes tp.yaml takes', () => {
    for (const text of CONFIGS) {
      expect(mayRepeatKeys(text)).toBe(false);
      expect(quickYaml(text)).toEqual(parse(text));
    }
  });

  test('a key given twice in one mapping is suspected, so the exact parser refuses it with its line', () => {
    const twice = [
      'proxy:\n  listen: a:1\n  listen: b:2\n',
      'ssh: {}\nproxy: {}\nssh: {}\n',
      'db:\n  databases:\n    - name: a\n      uri: x\n      name: b\n',
      'a:\n  "k": 1\n  k: 2\n',
    ];
    for (const text of twice) {
      expect(mayRepeatKeys(text)).toBe(true);
      expect(quickYaml(text)).toBeUndefined();
    }
    expect(() => parseConfig('cluster_name: a\nproxy:\n  listen: a:1\n  listen: b:2\n')).toThrow(
      /tp\.yaml:4: Map keys must be unique/,
    );
  });

  test('the same key in sibling mappings or list items is not a repeat', () => {
    const text = 'a:\n  name: x\nb:\n  name: y\nlist:\n  - name: p\n    uri: q\n  - name: r\n    uri: s\n';
    expect(mayRepeatKeys(text)).toBe(false);
    expect(quickYaml(text)).toEqual(parse(text));
  });

  test('what the quick path cannot judge goes to the exact parser: block scalars, syntax errors', () => {
    expect(quickYaml('motd: |\n  hello: 1\n  hello: 2\n')).toBeUndefined();
    expect(quickYaml('a: [1, 2\nb: 3\n')).toBeUndefined();
    expect(() => parseConfig('proxy: [1, 2\nauth: 3\n')).toThrow(/^tp\.yaml:\d+: /);
  });

  test('schema errors still name the line, found with the exact parser', () => {
    expect(() => parseConfig('cluster_name: a\nproxy:\n  listn: 1.2.3.4:5\n')).toThrow(
      'tp.yaml:3: unknown key "proxy.listn" (did you mean "listen"?)',
    );
  });
});
