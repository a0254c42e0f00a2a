import { describe, expect, test } from 'bun:test';
import * as v from 'valibot';
import { agentEntries } from '../../core/compose/node.ts';
import { parseConfig } from '../../core/config/load.ts';
import { loadRegistry } from '../../core/plugin/registry.ts';
import { PLUGINS } from '../index.ts';
import { parseDesktopFlag, VncDesktopSchema } from './index.ts';

describe('desktop-vnc config', () => {
  test('--desktop NAME=vnc://HOST:PORT[?password_file=PATH] is one desktops entry; other protocols are not ours', () => {
    expect(parseDesktopFlag('lab1=vnc://127.0.0.1:5901')).toEqual({
      name: 'lab1',
      protocol: 'vnc',
      addr: '127.0.0.1:5901',
    });
    expect(parseDesktopFlag('lab1=vnc://10.0.0.5:5902?password_file=/etc/tp/lab%201.pass')).toEqual({
      name: 'lab1',
      protocol: 'vnc',
      addr: '10.0.0.5:5902',
      password_file: '/etc/tp/lab 1.pass',
    });
    expect(parseDesktopFlag('win1=rdp://10.0.0.5:3389')).toBeUndefined();
  });

  test('entries need a host:port and a valid name; labels default to none', () => {
    const ok = v.parse(VncDesktopSchema, { name: 'lab1', protocol: 'vnc', addr: '127.0.0.1:5901' });
    expect(ok.labels).toEqual({});
    expect(() => v.parse(VncDesktopSchema, { name: 'lab1', protocol: 'vnc', addr: '127.0.0.1' })).toThrow(
      'expected host:port',
    );
    expect(() => v.parse(VncDesktopSchema, { name: 'Lab 1', protocol: 'vnc', addr: '127.0.0.1:5901' })).toThrow();
    expect(() => v.parse(VncDesktopSchema, { name: 'lab1', protocol: 'vnc', addr: 'h:1', password: 'x' })).toThrow();
  });
});

describe('desktop-vnc in tp.yaml', () => {
  test('desktops.desktops entries with protocol vnc, and --desktop values, reach the plugin; a bad one is an error', async () => {
    const registry = await loadRegistry(PLUGINS);
    const cfg = (yaml: string) => parseConfig(yaml, 'tp.yaml', registry.sections());
    const yaml =
      'ssh: {enabled: false}\ndesktops:\n  enabled: true\n  desktops:\n' +
      '    - {name: lab1, protocol: vnc, addr: "127.0.0.1:5901", password_file: /etc/tp/lab1.pass, labels: {env: dev}}\n';
    const entries = agentEntries(cfg(yaml), registry, { desktop: ['lab2=vnc://127.0.0.1:5902'] });
    expect(entries.get('desktop-vnc')).toEqual([
      {
        name: 'lab1',
        protocol: 'vnc',
        addr: '127.0.0.1:5901',
        password_file: '/etc/tp/lab1.pass',
        labels: { env: 'dev' },
      },
      { name: 'lab2', protocol: 'vnc', addr: '127.0.0.1:5902', labels: {} },
    ]);
    const bad = 'ssh: {enabled: false}\ndesktops:\n  desktops:\n    - {name: lab1, protocol: vnc, addr: nowhere}\n';
    expect(() => agentEntries(cfg(bad), registry)).toThrow('expected host:port');
  });
});
