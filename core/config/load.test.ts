import { describe, expect, test } from 'bun:test';
import { defaultConfig } from './defaults.ts';
import { ConfigError, parseConfig } from './load.ts';

const fails = (text: string, message: string) => {
  expect(() => parseConfig(text, 'tp.yaml')).toThrow(ConfigError);
  expect(() => parseConfig(text, 'tp.yaml')).toThrow(message);
};

describe('tp.yaml', () => {
  test('a full config parses with defaults filled in', () => {
    const c = parseConfig(
      'cluster_name: example.com\nauth:\n  listen: 127.0.0.1:3025\nproxy:\n  public_addr: tp.example.com:443\nssh:\n  labels:\n    env: prod\nstorage:\n  type: postgres\n  url: postgres://u@h/db\n',
    );
    expect(c.cluster_name).toBe('example.com');
    expect(c.auth.enabled).toBe(true);
    expect(c.auth.second_factor).toBe('otp');
    expect(c.ssh.labels).toEqual({ env: 'prod' });
    expect(c.storage).toEqual({ type: 'postgres', url: 'postgres://u@h/db' });
  });

  test('recording settings: mode and store', () => {
    const c = parseConfig('auth:\n  session_recording: "off"\n  recordings: {type: fs, path: /srv/rec}\n');
    expect(c.auth.session_recording).toBe('off');
    expect(c.auth.recordings).toEqual({ type: 'fs', path: '/srv/rec' });
    fails('auth:\n  recordings: {type: s3, bucket: b}\n', 'tp.yaml:2: missing required key "auth.recordings.endpoint"');
  });

  test('an empty file is the all-in-one default, the same as defaultConfig()', () => {
    expect(parseConfig('').storage.type).toBe('sqlite');
    expect(parseConfig('')).toEqual(defaultConfig());
  });

  test('unknown keys name the file, line and a hint', () => {
    fails(
      'cluster_name: a\nauth:\n  listen: 127.0.0.1:1\n  lisen: 1\n',
      'tp.yaml:4: unknown key "auth.lisen" (did you mean "listen"?)',
    );
    fails('clustr_name: x\n', 'tp.yaml:1: unknown key "clustr_name" (did you mean "cluster_name"?)');
  });

  test('bad values name the file, line and what is expected', () => {
    fails(
      'storage:\n  type: mysql\n',
      'tp.yaml:2: invalid value for "storage.type": storage.type is "sqlite" or "postgres"',
    );
    fails('proxy:\n  listen: 3080\n', 'tp.yaml:2: invalid value for "proxy.listen"');
  });

  test('YAML syntax errors name the line', () => {
    fails('auth:\n  listen: [1,\n', 'tp.yaml:');
    fails('auth: {}\nauth: {}\n', 'tp.yaml:2');
  });
});
