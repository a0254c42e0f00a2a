// Secretless CI join against the cluster users run: `tp start` from a real tp.yaml in its own process, a
// GitHub Actions-shaped issuer on loopback, and `tp bot start` / `tp ci exec` as a CI job runs them (no token
// secret: the job's ID token is the proof). The refusals' reasons are covered in test/security/botCiJoin.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CiIssuer, githubClaims, startCiIssuer } from './helpers/ciIssuer.ts';
import { tp, tpOk } from './helpers/cli.ts';
import { me } from './helpers/sshFixture.ts';
import { startTpDaemon, type TpDaemon } from './helpers/tpDaemon.ts';

const REPO = 'acme/app';
let dir: string;
let daemon: TpDaemon;
let ci: CiIssuer;
let proxy: string;
let caPin: string;
const admin = (args: string[], stdin?: string) => tpOk([...args, '--data-dir', join(dir, 'data')], { stdin });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-cijoin-'));
  writeFileSync(
    join(dir, 'tp.yaml'),
    `cluster_name: cijoin.test\ndata_dir: ${join(dir, 'data')}\nauth: {listen: "127.0.0.1:0", second_factor: "off"}\n` +
      'proxy: {listen: "127.0.0.1:0", ssh_listen: "127.0.0.1:0"}\nssh: {name: aio}\n',
  );
  daemon = await startTpDaemon(['start', '--config', join(dir, 'tp.yaml')], /log in and connect/i);
  proxy = /proxy:\s+https:\/\/(\S+)/.exec(daemon.banner)![1]!;
  ci = await startCiIssuer();
  await admin(
    ['roles', 'create', '-f', '-'],
    'metadata: {name: deployer}\nspec:\n  allow: {logins: ["{{internal.logins}}"], node_labels: {"*": "*"}}\n',
  );
  caPin = JSON.parse(await admin(['bots', 'add', 'deploy', '--roles', 'deployer', '--logins', me, '--format', 'json']))
    .ca_pin as string;
  await admin([
    'tokens',
    'add',
    '--type',
    'bot',
    '--bot',
    'deploy',
    '--join-method',
    'github',
    '--issuer-url',
    ci.issuer,
    '--allow',
    `repository=${REPO},ref=refs/heads/main`,
  ]);
}, 60_000);

afterAll(async () => {
  await ci?.close();
  await daemon?.stop();
});

describe('GitHub Actions join through tp start', () => {
  test('a job of the allowed repository and branch joins with no secret; its identity reaches the node', async () => {
    const home = mkdtempSync(join(dir, 'home-'));
    const out = join(dir, 'out');
    const env = { TP_HOME: home, ...ci.actionsEnv(githubClaims(REPO, 'refs/heads/main')) };
    const args = ['bot', 'start', '--join-method', 'github', '--token', 'deploy-github', '--proxy', proxy];
    const r = await tp([...args, '--ca-pin', caPin, '--out', out, '--oneshot'], { env });
    expect(r.code, r.stderr).toBe(0);
    const ssh = await tp(['-i', join(out, 'identity'), 'ssh', `${me}@aio`, 'echo', 'ok'], { env: { TP_HOME: home } });
    expect(ssh.stdout, ssh.stderr).toBe('ok\n');
  }, 60_000);

  test('tp ci exec runs the step with the identity, passes its status through and leaves no file behind', async () => {
    const home = mkdtempSync(join(dir, 'home-'));
    const tmp = mkdtempSync(join(dir, 'tmp-'));
    const env = { TP_HOME: home, TMPDIR: tmp, ...ci.actionsEnv(githubClaims(REPO, 'refs/heads/main')) };
    const base = ['ci', 'exec', '--join-method', 'github', '--token', 'deploy-github', '--proxy', proxy];
    // The identity lives in the job's temporary directory while the step runs (and is gone after it).
    const inTmp = `case "$TP_IDENTITY" in "${tmp}"/*) test -s "$TP_IDENTITY" || exit 8 ;; *) exit 9 ;; esac`;
    const step = `${inTmp} && tp_ls=$(${process.execPath} ${join(import.meta.dir, '..', 'cmd', 'tp.ts')} ls --format json) && echo "$tp_ls" && exit 5`;
    const r = await tp([...base, '--ca-pin', caPin, '--', 'sh', '-c', step], { env });
    expect(r.code, r.stderr).toBe(5);
    expect((JSON.parse(r.stdout) as { name: string }[]).map((n) => n.name)).toContain('aio');
    expect(readdirSync(tmp)).toEqual([]);
    expect(existsSync(join(home, 'identity'))).toBe(false);
  }, 60_000);

  test('a job from another branch is refused, naming the claim that did not match', async () => {
    const env = { TP_HOME: mkdtempSync(join(dir, 'home-')), ...ci.actionsEnv(githubClaims(REPO, 'refs/heads/dev')) };
    const args = ['bot', 'start', '--join-method', 'github', '--token', 'deploy-github', '--proxy', proxy];
    const r = await tp([...args, '--ca-pin', caPin, '--out', join(dir, 'out-dev'), '--oneshot'], { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('ref');
    expect(existsSync(join(dir, 'out-dev', 'identity'))).toBe(false);
  }, 60_000);
});
