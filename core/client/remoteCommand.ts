import type { Client, ClientChannel } from 'ssh2';
import { Unavailable } from '../errors.ts';

const SIGNAL_NUMBERS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, PIPE: 13, TERM: 15 };

/** How to run something on the node. */
export interface RemoteRun {
  /** The command line; a login shell when absent. */
  command?: string;
  /** Allocate a PTY (default: when stdin is a terminal and no command is given, or when forced with -t). */
  pty: boolean;
  env?: Record<string, string>;
}

/**
 * Runs a command or shell on the node with this process's stdio and returns the remote exit status (128 + signal
 * number for a signal). A session that ends without any status (the connection was cut) rejects with Unavailable.
 */
export function runRemote(client: Client, r: RemoteRun): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    // Until the session channel is open, only the connection's end says the node is gone: ssh2 drops a pending
    // exec/shell request silently, and the process would then exit 0 with nothing done.
    const cut = () =>
      reject(new Unavailable('the connection to the node was cut before the session opened (proxy or node stopped?)'));
    client.once('close', cut);
    const stdin = process.stdin;
    const tty = r.pty && !!stdin.isTTY;
    const window = {
      term: process.env.TERM ?? 'xterm-256color',
      cols: process.stdout.columns ?? 80,
      rows: process.stdout.rows ?? 24,
    };
    const opts = { pty: r.pty ? window : undefined, env: r.env };
    const onStream = (err: Error | undefined, ch: ClientChannel) => {
      client.off('close', cut);
      if (err) return reject(err);
      let code: number | undefined;
      ch.on('exit', (c: number | null, signal?: string) => {
        code = c ?? (signal ? 128 + (SIGNAL_NUMBERS[signal] ?? 127) : 255);
      });
      ch.stdout.pipe(process.stdout, { end: false });
      ch.stderr.pipe(process.stderr, { end: false });
      if (tty) stdin.setRawMode(true);
      // pipe() keeps backpressure: a bulk upload never piles up in memory faster than the channel drains.
      stdin.pipe(ch);
      const onResize = () => ch.setWindow(process.stdout.rows ?? 24, process.stdout.columns ?? 80, 0, 0);
      if (tty) process.stdout.on('resize', onResize);
      ch.on('close', () => {
        if (tty) {
          stdin.setRawMode(false);
          process.stdout.off('resize', onResize);
        }
        stdin.unpipe(ch);
        stdin.pause();
        if (code !== undefined) resolve(code);
        else
          reject(
            new Unavailable(
              'the session ended without an exit status: the connection to the node was cut (proxy or node stopped?)',
            ),
          );
      });
    };
    if (r.command === undefined) client.shell(opts.pty ?? false, { env: r.env }, onStream);
    else client.exec(r.command, opts, onStream);
  });
}
