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
  const out = JSON.parse(r.stdout) as { token: string; caPin: string };
  return { token: out.token, caPin: out.caPin };
}

/** Another join token of an existing bot (a second instance). */
export async function botToken(f: SshFixture, name: string): Promise<TestBot> {
  const r = await f.admin(['bots', 'token', name, '--format', 'json']);
  if (r.code !== 0) throw new Error(`bots token: ${r.stderr}`);
  return JSON.parse(r.stdout) as TestBot;
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
