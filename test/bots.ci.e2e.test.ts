import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { addBot, botToken, type TestBot } from './helpers/botFixture.ts';
import { tp } from './helpers/cli.ts';
import { me, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

let f: SshFixture;
let bin: string;

beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1' }]);
  await addBot(f, 'ci', ['--roles', 'ops', '--logins', me]);
  // `tp` on PATH for the CI step, as an installed package would put it.
  bin = join(f.dir, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'tp'),
    `#!/bin/sh\nexec "${process.execPath}" "${join(import.meta.dir, '..', 'cmd', 'tp.ts')}" "$@"\n`,
  );
  chmodSync(join(bin, 'tp'), 0o755);
});
afterAll(async () => {
  await f.close();
});

const ciExec = (t: TestBot, command: string[]) =>
  tp(['ci', 'exec', '--proxy', f.cluster.proxy.addr, '--token', t.token, '--ca-pin', t.caPin, '--', ...command], {
    env: { PATH: `${bin}:${process.env.PATH}`, TP_HOME: join(f.dir, 'no-profile') },
  });

describe('tp ci exec', () => {
  test('runs the step with TP_IDENTITY and TP_SSH_CONFIG, exits 0 and leaves no file behind', async () => {
    const r = await ciExec(await botToken(f, 'ci'), [
      'sh',
      '-c',
      'tp ls --format json && tp ssh node1 true && ssh -F "$TP_SSH_CONFIG" -o BatchMode=yes node1 echo via-openssh && echo "identity=$TP_IDENTITY"',
    ]);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"node1"');
    expect(r.stdout).toContain('via-openssh\n');
    const identity = /identity=(.+)\n/.exec(r.stdout)![1]!;
    expect(identity).toEndWith('/identity');
    expect(existsSync(identity)).toBe(false);
    expect(existsSync(dirname(identity))).toBe(false);
  }, 30_000);

  test("a failing step's exit status is tp's, and its files are removed too", async () => {
    const r = await ciExec(await botToken(f, 'ci'), ['sh', '-c', 'echo "dir=$(dirname "$TP_IDENTITY")"; exit 7']);
    expect(r.code).toBe(7);
    const dir = /dir=(.+)\n/.exec(r.stdout)![1]!;
    expect(existsSync(dir)).toBe(false);
  });

  test('a spent token fails before the step runs, with the reason', async () => {
    const t = await botToken(f, 'ci');
    expect((await ciExec(t, ['true'])).code).toBe(0);
    const again = await ciExec(t, ['sh', '-c', 'echo should-not-run']);
    expect(again.code).not.toBe(0);
    expect(again.stdout).not.toContain('should-not-run');
    expect(again.stderr).toContain('already used');
  });
});
