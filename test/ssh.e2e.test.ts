import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { AuditEventSchema } from '../core/api/schemas.ts';
import { eventually } from './helpers/audit.ts';
import { fetchWhenUp, waitFor } from './helpers/cluster.ts';
import { freePort } from './helpers/sshd.ts';
import { type FixtureUser, me, PASSWORD, type SshFixture, startSshFixture } from './helpers/sshFixture.ts';

const entry = join(import.meta.dir, '..', 'cmd', 'tp.ts');
let f: SshFixture;
let alice: FixtureUser;

beforeAll(async () => {
  f = await startSshFixture([
    {
      name: 'tunnel1',
      labels: { env: 'dev' },
      commandLabels: [{ name: 'kernel', command: ['uname', '-s'], periodMs: 60_000 }],
    },
    { name: 'direct1', labels: { env: 'prod' }, direct: true },
  ]);
  alice = await f.user('alice', ['ops']);
});
afterAll(async () => f.close());

describe('tp ssh through the proxy', () => {
  for (const node of ['tunnel1', 'direct1']) {
    test(`exec returns output and the remote exit status (${node})`, async () => {
      const r = await alice.tp(['ssh', node, 'echo "out:$(whoami)"; echo err >&2; exit 3']);
      expect(r.stdout).toBe(`out:${me}\n`);
      expect(r.stderr).toBe('err\n');
      expect(r.code).toBe(3);
      const ok = await alice.tp(['ssh', `${me}@${node}`, 'ls', '-d', '/tmp']);
      expect(ok.stdout).toBe('/tmp\n');
      expect(ok.code).toBe(0);
    });
  }

  test('tp ls shows both nodes with labels, and filters by label', async () => {
    const all = JSON.parse((await alice.tp(['ls', '--format', 'json'])).stdout);
    expect(all.map((n: { name: string }) => n.name)).toEqual(['direct1', 'tunnel1']);
    expect(all.every((n: { online: boolean }) => n.online)).toBe(true);
    expect(all.find((n: { name: string }) => n.name === 'tunnel1').labels).toEqual({ env: 'dev', kernel: 'Linux' });
    const prod = await alice.tp(['ls', 'env=prod']);
    expect(prod.stdout).toContain('direct1');
    expect(prod.stdout).not.toContain('tunnel1');
  });

  test('an interactive PTY shell (driven through script): tty, window size, exit status', async () => {
    const child = Bun.spawn(['script', '-qec', `${process.execPath} ${entry} ssh -t tunnel1`, '/dev/null'], {
      env: { ...process.env, ...alice.env, TERM: 'xterm' },
      stdin: new TextEncoder().encode('tty; echo "term=$TERM"; exit 4\n'),
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    expect(out).toMatch(/\/dev\/pts\/\d+/);
    expect(out).toContain('term=xterm');
    expect(code).toBe(4);
  });

  test('tp scp copies a tree both ways', async () => {
    const src = join(f.dir, 'tree');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'alpha\n');
    writeFileSync(join(src, 'sub', 'b.bin'), Buffer.alloc(300_000, 7));
    const remote = join(f.dir, 'remote-copy');
    const up = await alice.tp(['scp', '-r', src, `tunnel1:${remote}`]);
    expect(up.stderr).toBe('copied 2 files\n');
    expect(readFileSync(join(remote, 'sub', 'b.bin')).equals(Buffer.alloc(300_000, 7))).toBe(true);
    const back = join(f.dir, 'back');
    const down = await alice.tp(['scp', '-r', `direct1:${remote}`, back]);
    expect(down.code).toBe(0);
    expect(readFileSync(join(back, 'a.txt'), 'utf8')).toBe('alpha\n');
    const missing = await alice.tp(['scp', 'tunnel1:/nonexistent/file', back]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('no such file');
  });

  test('-L forwards a local port to a service the node reaches', async () => {
    const web = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('behind the node') });
    const local = await freePort();
    const fwd = Bun.spawn([process.execPath, entry, 'ssh', '-N', '-L', `${local}:127.0.0.1:${web.port}`, 'tunnel1'], {
      env: { ...process.env, ...alice.env },
      stdout: 'ignore',
      stderr: 'pipe',
    });
    try {
      let body: string | undefined;
      await waitFor('the -L forward', async () => {
        body = await fetchWhenUp(`http://127.0.0.1:${local}/`);
        return body !== undefined;
      });
      expect(body).toBe('behind the node');
      await eventually(f.cluster.auth.admin, 'port', (e) => e.dest === `127.0.0.1:${web.port}`);
    } finally {
      fwd.kill();
      await fwd.exited;
      web.stop(true);
    }
  });

  test('-R forwards a port on the node back to a service here; -D is a SOCKS5 proxy leaving from the node', async () => {
    const web = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (req) => new Response(`here ${new URL(req.url).pathname}`),
    });
    const remotePort = await freePort();
    const socksPort = await freePort();
    const fwd = Bun.spawn(
      [
        process.execPath,
        entry,
        'ssh',
        '-N',
        '-R',
        `${remotePort}:127.0.0.1:${web.port}`,
        '-D',
        `127.0.0.1:${socksPort}`,
        'tunnel1',
      ],
      {
        env: { ...process.env, ...alice.env },
        stdout: 'ignore',
        stderr: 'pipe',
      },
    );
    try {
      // The node runs on this machine, so its -R listener is reachable here too.
      let body: string | undefined;
      await waitFor('the -R forward', async () => {
        body = await fetchWhenUp(`http://127.0.0.1:${remotePort}/r`);
        return body !== undefined;
      });
      expect(body).toBe('here /r');
      const curl = Bun.spawn(
        ['curl', '-sS', '--socks5-hostname', `127.0.0.1:${socksPort}`, `http://127.0.0.1:${web.port}/socks`],
        { stdout: 'pipe', stderr: 'pipe' },
      );
      expect(await new Response(curl.stdout).text()).toBe('here /socks');
      expect(await curl.exited).toBe(0);
    } finally {
      fwd.kill();
      await fwd.exited;
      web.stop(true);
    }
  });

  test('-A forwards the ssh-agent; without -A the node sees none', async () => {
    const sock = join(f.dir, 'agent.sock');
    const agent = Bun.spawn(['ssh-agent', '-D', '-a', sock], { stdout: 'ignore', stderr: 'ignore' });
    try {
      await waitFor('ssh-agent', () => Bun.file(sock).size >= 0 && Bun.spawnSync(['test', '-S', sock]).exitCode === 0);
      const key = join(f.dir, 'agent-key');
      Bun.spawnSync(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'forwarded-key', '-f', key]);
      expect(Bun.spawnSync(['ssh-add', key], { env: { ...process.env, SSH_AUTH_SOCK: sock } }).exitCode).toBe(0);
      const env = { SSH_AUTH_SOCK: sock };
      const fwd = await alice.tp(['ssh', '-A', 'tunnel1', 'ssh-add -l'], { env });
      expect(fwd.stdout).toContain('forwarded-key');
      expect(fwd.code).toBe(0);
      const none = await alice.tp(['ssh', 'tunnel1', 'ssh-add -l'], { env });
      expect(none.code).toBe(2);
    } finally {
      agent.kill();
      await agent.exited;
    }
  });

  test('tp login loads the certificate into ssh-agent; tp status shows it; tp logout removes both', async () => {
    const sock = join(f.dir, 'login-agent.sock');
    const agent = Bun.spawn(['ssh-agent', '-D', '-a', sock], { stdout: 'ignore', stderr: 'ignore' });
    try {
      await waitFor('ssh-agent', () => Bun.spawnSync(['test', '-S', sock]).exitCode === 0);
      const env = { SSH_AUTH_SOCK: sock };
      const gina = await f.user('gina', ['ops']);
      const login = await gina.tp(
        ['login', '--proxy', f.cluster.proxy.addr, '--user', 'gina', '--password-stdin', '--insecure'],
        { env, stdin: PASSWORD },
      );
      expect(login.stdout).toContain('added to ssh-agent');
      const listed = Bun.spawnSync(['ssh-add', '-L'], { env: { ...process.env, ...env } }).stdout.toString();
      expect(listed).toContain('ssh-ed25519-cert-v01@openssh.com');
      const status = JSON.parse((await gina.tp(['status', '--format', 'json'])).stdout);
      expect(status).toMatchObject({ user: 'gina', cluster: 'test.cluster', logins: [me], valid: true });
      expect((await gina.tp(['logout'], { env })).stdout).toBe(
        'logged out of test.cluster (' + f.cluster.proxy.addr + ')\n',
      );
      expect(Bun.spawnSync(['ssh-add', '-L'], { env: { ...process.env, ...env } }).stdout.toString()).not.toContain(
        'cert',
      );
      const after = await gina.tp(['ssh', 'tunnel1', 'true']);
      expect(after.code).toBe(255);
      expect(after.stderr).toContain('not logged in: run `tp login');
    } finally {
      agent.kill();
      await agent.exited;
    }
  });

  test('on a terminal, tp ssh with an expired certificate asks for the password and logs in again', async () => {
    const hank = await f.user('hank', ['ops'], { ttl: '2s' });
    await Bun.sleep(2100);
    const child = Bun.spawn(['script', '-qec', `${process.execPath} ${entry} ssh tunnel1 echo relogged`, '/dev/null'], {
      env: { ...process.env, ...hank.env },
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
    });
    let out = '';
    const reading = (async () => {
      for await (const chunk of child.stdout) out += new TextDecoder().decode(chunk);
    })();
    // Type the password only once the prompt is on the screen, as a person would.
    await waitFor('the password prompt', () => out.includes('Password for'));
    child.stdin.write(`${PASSWORD}\r`);
    await child.stdin.flush();
    const code = await child.exited;
    await reading;
    expect(out).toContain('your certificate expired');
    expect(out).toContain('Password for hank@test.cluster:');
    expect(out).not.toContain(PASSWORD);
    expect(out).toContain('relogged');
    expect(code).toBe(0);
  });

  test('tp bench ssh runs sessions at a fixed rate and reports percentiles', async () => {
    const r = await alice.tp([
      'bench',
      'ssh',
      '--rate',
      '10',
      '--duration',
      '1s',
      '--format',
      'json',
      'tunnel1',
      'true',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ rate: 10, started: 10, ok: 10, errors: 0 });
    expect(out.p50_ms).toBeGreaterThan(0);
    expect(out.p99_ms).toBeGreaterThanOrEqual(out.p50_ms);
    const bad = await alice.tp(['bench', 'ssh', '--rate', '0', 'tunnel1']);
    expect(bad.code).toBe(2);
  });

  test('sessions are audited with user, login and node', async () => {
    await alice.tp(['ssh', 'tunnel1', 'true']);
    await eventually(f.cluster.auth.admin, 'session.end');
    const starts = await f.cluster.auth.client.searchEvents(new URLSearchParams({ type: 'session.start' }));
    expect(starts.some((e) => e.user === 'alice' && e.login === me && e.server_name === 'tunnel1')).toBe(true);
    const execs = await f.cluster.auth.admin.get(v.array(AuditEventSchema), '/v1/audit/events?type=exec');
    expect(execs.some((e) => e.command === 'true')).toBe(true);
  });
});
