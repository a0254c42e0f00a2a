import { describe, expect, test } from 'bun:test';
import { parseConfig } from '../../core/config/load.ts';
import { type AgentServiceSpec, renderAgentConfig, renderUnit, systemdWord } from './agentService.ts';

const spec: AgentServiceSpec = {
  proxy: 'tp.example.com:3080',
  token: 'tok',
  labels: { 'env.zone': 'a b' },
  dataDir: '/var/lib/tp agent',
  configPath: '/etc/tp/tp.yaml',
  exec: ['/opt/tp 100%/tp'],
  sandbox: 'strict',
};

describe('the agent service files', () => {
  test('ExecStart words: plain ones bare, others double-quoted, % and $ doubled (specifiers, variables)', () => {
    expect(systemdWord('/usr/local/bin/tp')).toBe('/usr/local/bin/tp');
    expect(systemdWord('/opt/tp 100%/tp')).toBe('"/opt/tp 100%%/tp"');
    expect(systemdWord('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(systemdWord('/opt/$HOME/tp')).toBe('"/opt/$$HOME/tp"');
    expect(renderUnit(spec)).toContain('ExecStart="/opt/tp 100%%/tp" agent start --config /etc/tp/tp.yaml\n');
    expect(renderUnit(spec)).toContain('ReadWritePaths="/var/lib/tp agent"\n');
  });

  test('tp.yaml loads back as the agent it describes, and leaves out what was not given', () => {
    const cfg = parseConfig(renderAgentConfig(spec));
    expect(cfg.ssh).toMatchObject({ proxy: 'tp.example.com:3080', token: 'tok', labels: { 'env.zone': 'a b' } });
    expect(cfg.ssh.ca_pin).toBeUndefined();
    expect(cfg.ssh.name).toBeUndefined();
    expect(cfg.auth.enabled).toBe(false);
    expect(cfg.proxy.enabled).toBe(false);
  });
});
