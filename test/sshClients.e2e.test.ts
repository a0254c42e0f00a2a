import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { profileKeysDir } from '../core/client/profile.ts';
import { parseCert } from '../core/crypto/sshcert.ts';
import { loadHostIdentity } from '../core/identity/hostIdentity.ts';
import { run } from './helpers/cli.ts';
import { ssh } from './helpers/sshd.ts';
import { type FixtureUser, me, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

/**
 * Issue 16 item 3: the SSH clients people script with log in to a tp node through `tp proxy ssh`, with the user's
 * tp certificate from `tp login`: paramiko (Ansible's paramiko transport, Fabric; it has AES-CTR but no GCM),
 * asyncssh (which also checks the node's host certificate against the profile's @cert-authority line), and stock
 * OpenSSH through `tp config`, which stays on AES-GCM.
 */

const PYTHON = '/usr/bin/python3'; // Debian's, where python3-paramiko and python3-asyncssh are installed
const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');
const cluster = 'test.cluster';
const has = (mod: string) =>
  existsSync(PYTHON) && Bun.spawnSync([PYTHON, '-W', 'ignore', '-c', `import ${mod}`]).exitCode === 0;
const PARAMIKO = has('paramiko');
const ASYNCSSH = has('asyncssh');
if (!PARAMIKO) console.warn('SKIPPING paramiko tests: apt-get install python3-paramiko');
if (!ASYNCSSH) console.warn('SKIPPING asyncssh tests: apt-get install python3-asyncssh');

let f: SshFixture;
let alice: FixtureUser;
let keys: string;
/** The ProxyCommand a script runs: this tp, as alice. */
let proxyCommand: string;
beforeAll(async () => {
  f = await startSshFixture([{ name: 'node1' }]);
  alice = await f.user('alice', ['ops']);
  keys = profileKeysDir(f.cluster.proxy.addr, alice.home);
  proxyCommand = `env TP_HOME=${alice.home} ${process.execPath} ${entry} proxy ssh ${me}@node1.${cluster}:22`;
});
afterAll(async () => f.close());

const PARAMIKO_SCRIPT = `
import sys, paramiko
key_path, cert_path, host_key, login, proxy_command, command = sys.argv[1:7]
key = paramiko.Ed25519Key.from_private_key_file(key_path)
key.load_certificate(cert_path)
t = paramiko.Transport(paramiko.ProxyCommand(proxy_command))
t.start_client(timeout=20)
seen = t.get_remote_server_key()
if seen.get_name() + ' ' + seen.get_base64() != host_key:
    sys.exit('host key mismatch: ' + seen.get_name() + ' ' + seen.get_base64())
t.auth_publickey(login, key)
ch = t.open_session()
ch.exec_command(command)
sys.stdout.write(ch.makefile('r').read().decode())
print('cipher=' + t.local_cipher + ' mac=' + t.local_mac, file=sys.stderr)
sys.exit(ch.recv_exit_status())
`;

const ASYNCSSH_SCRIPT = `
import sys, asyncio, asyncssh
key_path, cert_path, known_hosts, login, host, proxy_command, command = sys.argv[1:8]
async def main():
    key = asyncssh.read_private_key(key_path)
    cert = asyncssh.read_certificate(cert_path)
    async with asyncssh.connect(host, username=login, client_keys=[(key, cert)], known_hosts=known_hosts,
                                proxy_command=proxy_command, connect_timeout=20) as conn:
        r = await conn.run(command)
        sys.stdout.write(r.stdout)
        print('cipher=' + conn.get_extra_info('send_cipher'), file=sys.stderr)
        return r.exit_status
sys.exit(asyncio.run(main()))
`;

describe('SSH clients other than tp through `tp proxy ssh`', () => {
  test.skipIf(!PARAMIKO)(
    "paramiko logs in with the user's tp certificate, on AES-CTR with an encrypt-then-MAC SHA-2 MAC",
    async () => {
      // paramiko cannot check host certificates: the script pins the node's key (the one its certificate names).
      const nodeId = loadHostIdentity(f.cluster.agentDirs.get('node1')!)!;
      const hostKey = `ssh-ed25519 ${parseCert(nodeId.sshCert).publicKey.toString('base64')}`;
      const r = await run([
        PYTHON,
        '-W',
        'ignore',
        '-c',
        PARAMIKO_SCRIPT,
        join(keys, 'key'),
        join(keys, 'key-cert.pub'),
        hostKey,
        me,
        proxyCommand,
        'echo "paramiko as $(whoami)"; exit 3',
      ]);
      expect(r.stdout).toBe(`paramiko as ${me}\n`);
      expect(r.stderr).toMatch(/^cipher=aes(128|256)-ctr mac=hmac-sha2-(256|512)-etm@openssh\.com$/m);
      expect(r.code).toBe(3);
    },
  );

  test.skipIf(!ASYNCSSH)(
    "asyncssh logs in with the tp certificate and accepts the node's host certificate through the profile's @cert-authority",
    async () => {
      const r = await run([
        PYTHON,
        '-W',
        'ignore',
        '-c',
        ASYNCSSH_SCRIPT,
        join(keys, 'key'),
        join(keys, 'key-cert.pub'),
        join(keys, 'known_hosts'),
        me,
        `node1.${cluster}`,
        proxyCommand,
        'echo "asyncssh as $(whoami)"',
      ]);
      expect(r.stdout).toBe(`asyncssh as ${me}\n`);
      expect(r.stderr).toMatch(/^cipher=aes(128|256)-gcm@openssh\.com$/m);
      expect(r.code).toBe(0);
    },
  );

  test.skipIf(!ASYNCSSH)('asyncssh refuses the node when the known_hosts CA is not the cluster host CA', async () => {
    const other = join(f.dir, 'other_known_hosts');
    // Some other CA (a user key stands in for it): the host certificate must not verify against it.
    const stranger = (await Bun.file(join(keys, 'key.pub')).text()).trim();
    writeFileSync(other, `@cert-authority * ${stranger}\n`);
    const r = await run([
      PYTHON,
      '-W',
      'ignore',
      '-c',
      ASYNCSSH_SCRIPT,
      join(keys, 'key'),
      join(keys, 'key-cert.pub'),
      other,
      me,
      `node1.${cluster}`,
      proxyCommand,
      'true',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('HostKeyNotVerifiable: Host CA key is not trusted');
  });

  test('OpenSSH through `tp config` negotiates AES-GCM (ssh -vv names the cipher)', async () => {
    const cfg = await alice.tp(['config']);
    expect(cfg.stdout).toContain('Ciphers aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes256-ctr');
    const config = join(f.dir, 'ssh_config');
    writeFileSync(config, cfg.stdout);
    const r = await ssh(['-vv', '-F', config, `node1.${cluster}`, 'echo openssh-ok']);
    expect(r.stdout).toBe('openssh-ok\n');
    expect(r.stderr).toMatch(/kex: server->client cipher: aes128-gcm@openssh\.com MAC: <implicit>/);
    expect(r.stderr).toMatch(/kex: algorithm: curve25519-sha256/);
    // Through the proxy's jump port too: both hops on GCM.
    const j = await ssh(['-vv', '-F', config, '-J', `tp-proxy.${cluster}`, `node1.${cluster}`, 'echo jump-ok']);
    expect(j.stdout).toBe('jump-ok\n');
    const ciphers = j.stderr.match(/kex: server->client cipher: \S+/g) ?? [];
    expect(ciphers).toEqual([
      'kex: server->client cipher: aes128-gcm@openssh.com',
      'kex: server->client cipher: aes128-gcm@openssh.com',
    ]);
  });
});
