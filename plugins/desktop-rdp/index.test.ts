import { describe, expect, test } from 'bun:test';
import * as v from 'valibot';
import { agentEntries } from '../../core/compose/node.ts';
import { parseConfig } from '../../core/config/load.ts';
import { loadRegistry } from '../../core/plugin/registry.ts';
import { PLUGINS } from '../index.ts';
import { parseDesktopFlag, RdpDesktopSchema } from './index.ts';

describe('desktop-rdp config', () => {
  test('--desktop NAME=rdp://HOST:PORT[?username=U&password_file=PATH] is one desktops entry; vnc:// is not ours', () => {
    expect(parseDesktopFlag('win1=rdp://10.0.0.5:3389')).toEqual({
      name: 'win1',
      protocol: 'rdp',
      addr: '10.0.0.5:3389',
    });
    expect(parseDesktopFlag('win1=rdp://10.0.0.5:3389?username=CORP%5Cbob&password_file=/etc/tp/win%201.pass')).toEqual(
      {
        name: 'win1',
        protocol: 'rdp',
        addr: '10.0.0.5:3389',
        username: 'CORP\\bob',
        password_file: '/etc/tp/win 1.pass',
      },
    );
    expect(parseDesktopFlag('lab1=vnc://127.0.0.1:5901')).toBeUndefined();
  });

  test('username and password_file go together; a pin is 32 hex bytes; unknown keys are errors', () => {
    const base = { name: 'win1', protocol: 'rdp', addr: '10.0.0.5:3389' };
    expect(v.parse(RdpDesktopSchema, base).labels).toEqual({});
    expect(() => v.parse(RdpDesktopSchema, { ...base, username: 'bob' })).toThrow(
      'username and password_file go together',
    );
    expect(() => v.parse(RdpDesktopSchema, { ...base, password_file: '/p' })).toThrow('go together');
    expect(v.parse(RdpDesktopSchema, { ...base, cert_sha256: 'AB:'.repeat(31) + 'AB' }).cert_sha256).toBeDefined();
    expect(() => v.parse(RdpDesktopSchema, { ...base, cert_sha256: 'abcd' })).toThrow('SHA-256');
    expect(() => v.parse(RdpDesktopSchema, { ...base, password: 'x' })).toThrow();
    expect(() => v.parse(RdpDesktopSchema, { ...base, addr: '10.0.0.5' })).toThrow('expected host:port');
  });
});

describe('desktop-rdp in tp.yaml', () => {
  test('rdp and vnc entries, from the file and from --desktop, reach their own plugins', async () => {
    const registry = await loadRegistry(PLUGINS);
    const cfg = (yaml: string) => parseConfig(yaml, 'tp.yaml', registry.sections());
    const yaml =
      'ssh: {enabled: false}\ndesktops:\n  enabled: true\n  desktops:\n' +
      '    - {name: win1, protocol: rdp, addr: "10.0.0.5:3389", labels: {os: windows}}\n' +
      '    - {name: lab1, protocol: vnc, addr: "127.0.0.1:5901"}\n';
    const entries = agentEntries(cfg(yaml), registry, {
      desktop: ['win2=rdp://127.0.0.1:3390?username=bob&password_file=/p', 'lab2=vnc://127.0.0.1:5902'],
    });
    expect(entries.get('desktop-rdp')).toEqual([
      { name: 'win1', protocol: 'rdp', addr: '10.0.0.5:3389', labels: { os: 'windows' } },
      { name: 'win2', protocol: 'rdp', addr: '127.0.0.1:3390', username: 'bob', password_file: '/p', labels: {} },
    ]);
    expect(entries.get('desktop-vnc')?.map((e) => (e as { name: string }).name)).toEqual(['lab1', 'lab2']);
    const bad = 'ssh: {enabled: false}\ndesktops:\n  desktops:\n    - {name: win1, protocol: rdp, addr: nowhere}\n';
    expect(() => agentEntries(cfg(bad), registry)).toThrow('expected host:port');
  });
});
