import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { totpCode } from '../core/auth/users.ts';
import { tp } from './helpers/cli.ts';
import { ptyRun, tpCommand } from './helpers/cliPty.ts';
import { waitFor } from './helpers/cluster.ts';
import { me, PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

// A person at a real terminal: every question of one run is answered as typed, secrets are not echoed, and Ctrl+C
// leaves the terminal as it was.

let f: SshFixture;

beforeAll(async () => {
  f = await startSshFixture([{ name: 'n1' }], { secondFactor: 'otp' });
});
afterAll(async () => f.close());

/** Creates a user holding `ops` with a TOTP device; returns the device's secret. */
async function otpUser(name: string): Promise<string> {
  const created = await f.cluster.auth.client.createUser({
    name,
    roles: ['ops'],
    logins: [me],
    password: PASSWORD,
  });
  return new URL(created.totpUri!).searchParams.get('secret')!;
}

const home = (name: string) => mkdtempSync(join(f.dir, `home-${name}-`));
/** Terminal modes (from `stty -a`) as a set of words such as "echo" or "-icanon". */
const modes = (sttyOutput: string) => new Set(sttyOutput.split(/[\s;]+/));

describe('tp at a terminal', () => {
  test('tp login asks the password, then the code, and logs in; tp ssh then opens a shell there', async () => {
    const secret = await otpUser('ida');
    const proxy = f.cluster.proxy.addr;
    const t = ptyRun(`${tpCommand} login --proxy ${proxy} --user ida --insecure && ${tpCommand} ssh n1; echo "rc=$?"`, {
      TP_HOME: home('ida'),
    });
    try {
      await t.expect(/Password for ida@test\.cluster: $/);
      t.type(`${PASSWORD}\r`);
      const asked = await t.expect(/Second-factor code \(6 digits\): $/);
      // Typed only once the question shows, as a person would; the old prompt aborted here at once.
      t.type(`${totpCode(secret, Date.now())}\r`);
      await t.expect(/logged in to test\.cluster as ida/);
      expect(t.output()).not.toContain(PASSWORD);
      expect(t.output().slice(asked.index)).not.toContain('aborted');
      const mark = t.output().length;
      t.type('echo tp-$((6*7)) from $(whoami)\r');
      await t.expect(new RegExp(`tp-42 from ${me}`), 15_000, mark);
      t.type('exit 3\r');
      await t.expect(/rc=3/);
      expect(await t.exited()).toBe(0);
    } finally {
      t.kill();
    }
  });

  test('tp ssh with an expired certificate logs in again (password, then code) and opens the shell', async () => {
    const secret = await otpUser('uma');
    const env = { TP_HOME: home('uma') };
    const first = await tp(
      [
        'login',
        '--proxy',
        f.cluster.proxy.addr,
        '--user',
        'uma',
        '--insecure',
        '--password-stdin',
        '--ttl',
        '1s',
      ].concat(['--otp', totpCode(secret, Date.now() - 30_000)]),
      { env, stdin: PASSWORD },
    );
    expect(first.stderr).not.toContain('error');
    await waitFor('the 1 s certificate to expire', async () => (await tp(['status'], { env })).code === 6);
    const t = ptyRun(`${tpCommand} ssh n1; echo "rc=$?"`, env);
    try {
      await t.expect(/logging in again to .* as uma[\s\S]*Password for uma@test\.cluster: $/);
      t.type(`${PASSWORD}\r`);
      await t.expect(/Second-factor code \(6 digits\): $/);
      t.type(`${totpCode(secret, Date.now())}\r`);
      const mark = t.output().length;
      t.type('echo relogin-$((40+2))\r');
      await t.expect(/relogin-42/, 15_000, mark);
      t.type('exit\r');
      await t.expect(/rc=0/);
    } finally {
      t.kill();
    }
  });

  test('answers typed ahead (pasted with CRLF) go to the next question, not lost or doubled', async () => {
    const secret = await otpUser('pia');
    const t = ptyRun(`${tpCommand} login --proxy ${f.cluster.proxy.addr} --user pia --insecure; echo "rc=$?"`, {
      TP_HOME: home('pia'),
    });
    try {
      await t.expect(/Password for pia@test\.cluster: $/);
      t.type(`${PASSWORD}\r\n${totpCode(secret, Date.now())}\r`);
      await t.expect(/logged in to test\.cluster as pia[\s\S]*rc=0/);
      expect(t.output()).not.toContain(PASSWORD);
    } finally {
      t.kill();
    }
  });

  test('Ctrl+C at the password prompt exits 130 and gives the terminal back with echo on', async () => {
    await otpUser('cy');
    const t = ptyRun(
      `${tpCommand} login --proxy ${f.cluster.proxy.addr} --user cy --insecure; echo "rc=$?"; stty -a; echo END`,
      { TP_HOME: home('cy') },
    );
    try {
      await t.expect(/Password for cy@test\.cluster: $/);
      t.type('half-typed');
      t.type('\u0003');
      const rc = await t.expect(/rc=(\d+)/);
      expect(rc[1]).toBe('130');
      const stty = await t.expect(/rc=130([\s\S]*)END/);
      const m = modes(stty[1]!);
      expect(m.has('echo')).toBe(true);
      expect(m.has('icanon')).toBe(true);
      expect(m.has('-echo')).toBe(false);
      expect(t.output()).toContain('error: cancelled');
      expect(t.output()).not.toContain('half-typed');
    } finally {
      t.kill();
    }
  });
});
