import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ServerChannel, Session } from 'ssh2';
import { describe } from '../errors.ts';
import { log } from '../log.ts';
import { asUser, loginEnv, type OsUser } from './osUser.ts';
import { type SftpOp, sftpAudit } from './sftpAudit.ts';

/** What a session may do, from the user's certificate extensions. */
export interface SessionRights {
  pty: boolean;
}

/** Receives what a session prints (for the recording), the files an SFTP session touches, and how it ended. */
export interface SessionTap {
  output(data: Uint8Array | string, stream: 'o' | 'e'): void;
  /** One file operation of an SFTP session, once the server answered it. */
  sftp?(op: SftpOp): void;
  end(info: { exitCode?: number; signal?: string }): void;
}

/** Hooks a session reports to (audit, recording). */
export interface SessionHooks {
  /** A program starts on the channel; the returned tap sees its output. */
  onStart(
    kind: 'shell' | 'exec' | 'sftp',
    command: string | undefined,
    pty: { cols: number; rows: number } | undefined,
  ): SessionTap;
  /** Extra environment (e.g. SSH_AUTH_SOCK once agent forwarding is set up). */
  env(): Record<string, string>;
}

const SFTP_SERVERS = ['/usr/lib/openssh/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/lib/ssh/sftp-server'];
const SIGNALS = new Set(['HUP', 'INT', 'KILL', 'QUIT', 'TERM', 'USR1', 'USR2', 'ALRM', 'PIPE']);

interface PtyInfo {
  term: string;
  cols: number;
  rows: number;
}

/** Handles one SSH session channel: env, pty, window changes, signals, exec, shell and the sftp subsystem. */
export function serveSession(session: Session, user: OsUser, rights: SessionRights, hooks: SessionHooks): void {
  const env: Record<string, string> = {};
  let pty: PtyInfo | undefined;
  let resize: ((cols: number, rows: number) => void) | undefined;
  let signal: ((name: string) => void) | undefined;

  session.on('env', (accept, _reject, info) => {
    // Like sshd's default AcceptEnv: locale and TERM-ish variables only.
    if (/^(LANG|LC_[A-Z]+|TERM|COLORTERM|TZ|TP_[A-Z_]+)$/.test(info.key)) env[info.key] = info.val;
    accept?.();
  });
  session.on('pty', (accept, reject, info) => {
    if (!rights.pty) return reject?.();
    pty = { term: info.term || 'xterm', cols: info.cols || 80, rows: info.rows || 24 };
    accept?.();
  });
  session.on('window-change', (accept, _reject, info) => {
    resize?.(info.cols, info.rows);
    accept?.();
  });
  session.on('signal', (accept, _reject, info) => {
    if (SIGNALS.has(info.name)) signal?.(info.name);
    accept?.();
  });

  const run = (
    channel: ServerChannel,
    argv: string[],
    command: string | undefined,
    kind: 'shell' | 'exec' | 'sftp',
  ) => {
    const childEnv = { ...loginEnv(user, env), ...hooks.env() };
    if (pty) childEnv.TERM = pty.term;
    const tap = hooks.onStart(kind, command, pty);
    let finished = false;
    const finish = (exitCode: number | null, sig?: string) => {
      if (finished) return;
      finished = true;
      if (sig) channel.exit(sig, false, '');
      else channel.exit(exitCode ?? 255);
      channel.end();
      tap.end({ exitCode: exitCode ?? undefined, signal: sig });
    };
    let full: string[];
    try {
      full = asUser(user, argv);
    } catch (err) {
      channel.stderr.write(`${describe(err)}\r\n`);
      return finish(126);
    }
    if (pty) {
      void import('bun-pty').then(({ spawn }) => {
        const p = spawn(full[0]!, full.slice(1), {
          name: pty!.term,
          cols: pty!.cols,
          rows: pty!.rows,
          cwd: existsSync(user.home) ? user.home : '/',
          env: childEnv,
        });
        p.onData((d: string) => {
          channel.write(d);
          tap.output(d, 'o');
        });
        p.onExit(({ exitCode, signal: s }: { exitCode: number; signal?: number | string }) =>
          finish(exitCode, typeof s === 'string' && s ? s.replace(/^SIG/, '') : undefined),
        );
        channel.on('data', (d: Buffer) => p.write(d.toString('utf8')));
        resize = (cols, rows) => p.resize(cols, rows);
        signal = (name) => p.kill(`SIG${name}`);
        // Like sshd: a dropped connection hangs up the session's program.
        channel.on('close', () => {
          if (!finished) p.kill('SIGHUP');
        });
      });
      return;
    }
    // node:child_process streams carry backpressure both ways (channel ⇄ process pipes).
    const child = spawn(full[0]!, full.slice(1), {
      cwd: existsSync(user.home) ? user.home : '/',
      env: childEnv,
      stdio: 'pipe',
    });
    signal = (name) => child.kill(`SIG${name}` as NodeJS.Signals);
    channel.on('close', () => {
      if (!finished && child.exitCode === null) child.kill('SIGHUP');
    });
    channel.pipe(child.stdin);
    child.stdin.on('error', (err) => log.debug('session stdin closed early', { error: describe(err) }));
    child.stdout.pipe(channel, { end: false });
    child.stderr.pipe(channel.stderr, { end: false });
    if (kind !== 'sftp') {
      child.stdout.on('data', (d: Buffer) => tap.output(d, 'o'));
      child.stderr.on('data', (d: Buffer) => tap.output(d, 'e'));
    } else if (tap.sftp) {
      // Not recorded, but audited: each file it reads, writes, renames or removes, with the server's answer.
      const audit = sftpAudit((op) => tap.sftp?.(op));
      channel.on('data', audit.request);
      child.stdout.on('data', audit.answer);
    }
    let outputs = 2;
    let status: { code: number | null; sig: NodeJS.Signals | null } | undefined;
    const maybeFinish = () => {
      if (outputs === 0 && status) finish(status.code, status.sig ? status.sig.replace(/^SIG/, '') : undefined);
    };
    for (const out of [child.stdout, child.stderr]) {
      out.on('end', () => {
        outputs--;
        maybeFinish();
      });
    }
    child.on('error', (err) => {
      channel.stderr.write(`cannot start ${full[0]}: ${err.message}\r\n`);
      status = { code: 127, sig: null };
      outputs = 0;
      maybeFinish();
    });
    child.on('exit', (code, sig) => {
      status = { code, sig };
      maybeFinish();
    });
  };

  session.on('exec', (accept, _reject, info) => {
    const channel = accept();
    run(channel, [user.shell, '-c', info.command], info.command, 'exec');
  });
  session.on('shell', (accept) => {
    const channel = accept();
    run(channel, [user.shell, '-l'], undefined, 'shell');
  });
  session.on('subsystem', (accept, reject, info) => {
    const server = SFTP_SERVERS.find((p) => existsSync(p));
    if (info.name !== 'sftp' || !server) {
      log.warn('subsystem refused', {
        name: info.name,
        reason: server ? 'unknown subsystem' : 'no sftp-server on this host',
      });
      return reject?.();
    }
    const channel = accept();
    pty = undefined;
    run(channel, [server], 'sftp', 'sftp');
  });
}
