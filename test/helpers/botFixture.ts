import { join } from 'node:path';
import { type CliResult, tp } from './cli.ts';
import type { SshFixture } from './sshFixture.ts';

/** A bot made with `tp bots add`: its join token and the CA pin to join with. */
export interface TestBot {
  token: string;
  caPin: string;
}

/** Creates a bot through the real CLI and returns its join token. */
export async function addBot(f: SshFixture, name: string, args: string[]): Promise<TestBot> {
  const r = await f.admin(['bots', 'add', name, ...args, '--format', 'json']);
  if (r.code !== 0) throw new Error(`bots add: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { token: string; ca_pin: string };
  return { token: out.token, caPin: out.ca_pin };
}

/** Another join token of an existing bot (a second instance). */
export async function botToken(f: SshFixture, name: string): Promise<TestBot> {
  const r = await f.admin(['bots', 'token', name, '--format', 'json']);
  if (r.code !== 0) throw new Error(`bots token: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { token: string; ca_pin: string };
  return { token: out.token, caPin: out.ca_pin };
}

/** The arguments of `tp bot start` joining `f`'s proxy with `bot`'s token into `out`. */
export function botStartArgs(f: SshFixture, bot: TestBot, out: string, extra: string[] = []): string[] {
  return [
    'bot',
    'start',
    '--proxy',
    f.cluster.proxy.addr,
    '--token',
    bot.token,
    '--ca-pin',
    bot.caPin,
    '--out',
    out,
    ...extra,
  ];
}

/** Runs `tp -i DIR/identity ...` with no profile (a fresh, empty TP_HOME). */
export function tpWithIdentity(dir: string, home: string, args: string[]): Promise<CliResult> {
  return tp(['-i', join(dir, 'identity'), ...args], { env: { TP_HOME: home } });
}

/** A `tp bot start` left running: its stderr so far, and a stop that sends SIGTERM and waits for the exit code. */
export interface RunningBot {
  stderr(): string;
  /** Waits (bounded) for `re` in stderr; throws with the stderr when the bot exits or time runs out. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  stop(): Promise<number>;
}

/** Starts the real `tp bot start ...` in a child process. */
export function spawnBot(args: string[]): RunningBot {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, '..', '..', 'cmd', 'tp.ts'), ...args], {
    env: { ...process.env, TP_LOG_FORMAT: 'json' },
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
  });
  let err = '';
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) err += dec.decode(chunk, { stream: true });
  })();
  return {
    stderr: () => err,
    async waitFor(re, ms = 15_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = re.exec(err);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`tp bot start ended (${child.exitCode}): ${err}`);
        if (Date.now() > deadline) throw new Error(`no ${re} in the bot's stderr: ${err}`);
        await Bun.sleep(25);
      }
    },
    async stop() {
      child.kill('SIGTERM');
      return child.exited;
    },
  };
}
