import { describe, expect, test } from 'bun:test';
import { parseSshArgs } from './ssh.ts';

describe('tp ssh arguments', () => {
  test('options, then the destination, then the remote command with its own flags', () => {
    expect(parseSshArgs(['-A', '-L', '8080:localhost:80', 'root@web1', 'ls', '-la', '/tmp'])).toMatchObject({
      login: 'root',
      node: 'web1',
      agent: true,
      local: ['8080:localhost:80'],
      command: 'ls -la /tmp',
    });
    const shell = parseSshArgs(['-l', 'deploy', '-t', 'web1']);
    expect(shell).toMatchObject({ login: 'deploy', node: 'web1', forcePty: true });
    expect(shell.command).toBeUndefined();
    expect(parseSshArgs(['-l', 'deploy', 'ops@web1']).login).toBe('deploy');
  });

  test("flags after the destination are the remote command's, with or without --", () => {
    expect(parseSshArgs(['web-2', 'df', '-h', '/']).command).toBe('df -h /');
    expect(parseSshArgs(['web-2', 'grep', '-h', 'root', '/etc/passwd']).command).toBe('grep -h root /etc/passwd');
    expect(parseSshArgs(['web-2', '--', 'grep', '-h', 'root', '/etc/passwd']).command).toBe('grep -h root /etc/passwd');
    expect(parseSshArgs(['-t', '--', 'web-2', '--help']).command).toBe('--help');
  });

  test('bad input is a usage error', () => {
    expect(() => parseSshArgs([])).toThrow('missing destination [user@]node');
    expect(() => parseSshArgs(['-L'])).toThrow('-L needs a value');
    expect(() => parseSshArgs(['-X', 'web1'])).toThrow('unknown flag -X');
  });
});
