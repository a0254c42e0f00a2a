import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { systemClock } from '../core/clock.ts';
import { BadParameter } from '../core/errors.ts';
import { action, durationArg, proxyArg } from './lib/context.ts';
import { idTokenArgs, idTokenSource, joinMethodArg } from './lib/joinFlags.ts';
import { selfCommand } from './lib/self.ts';

const exec = defineCommand({
  meta: {
    name: 'exec',
    description:
      'Join as a bot, run a command with TP_IDENTITY and TP_SSH_CONFIG pointing at files in a private temporary\n' +
      "directory (kept fresh while it runs), then remove every file. Exits with the command's status.\n" +
      'In GitHub Actions, secretless: --join-method github --token <join method> (see `tp tokens add --help`).\n' +
      '  tp ci exec --proxy tp.example.com:3080 --token "$TP_TOKEN" --ca-pin sha256:... -- sh -c \'tp ls && ssh -F "$TP_SSH_CONFIG" node1 uptime\'',
  },
  args: {
    command: { type: 'positional', required: false, valueHint: 'command...', description: 'The step to run, after --' },
    proxy: { type: 'string', description: 'The proxy, host:port (env TP_PROXY)' },
    token: {
      type: 'string',
      description: 'Bot join token from `tp bots add`, or the join method name with --join-method (env TP_TOKEN)',
    },
    ...idTokenArgs,
    'ca-pin': { type: 'string', description: 'Expected cluster CA pin, sha256:... (env TP_CA_PIN)' },
    ttl: { type: 'string', description: "Certificate lifetime to ask for (capped by the bot's)" },
  },
  run: action(async (args) => {
    const command = (args._ as string[] | undefined) ?? [];
    if (command.length === 0) throw new BadParameter('usage: tp ci exec [flags] -- COMMAND [ARGS...]');
    const proxy = args.proxy ?? process.env.TP_PROXY;
    const token = args.token ?? process.env.TP_TOKEN;
    if (!token) throw new BadParameter('give --token (or TP_TOKEN): a join token from `tp bots add`');
    const method = joinMethodArg(args['join-method'] ?? process.env.TP_JOIN_METHOD);
    const { BotRunner } = await import('../core/bot/runner.ts');
    const dir = mkdtempSync(join(tmpdir(), 'tp-ci-'));
    let code = 1;
    const bot = new BotRunner({
      proxy: proxy ? proxyArg(proxy) : undefined,
      token,
      joinMethod: method,
      idToken: await idTokenSource(method, args['id-token-file']),
      caPin: args['ca-pin'] ?? process.env.TP_CA_PIN,
      out: dir,
      ttlMs: durationArg('ttl', args.ttl),
      tp: selfCommand(),
      clock: systemClock,
      random: Math.random,
    });
    try {
      await bot.first();
      bot.run();
      const child = Bun.spawn(command, {
        env: { ...process.env, TP_IDENTITY: join(dir, 'identity'), TP_SSH_CONFIG: join(dir, 'ssh_config') },
        stdio: ['inherit', 'inherit', 'inherit'],
      });
      const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
      process.on('SIGINT', forward('SIGINT'));
      process.on('SIGTERM', forward('SIGTERM'));
      code = await child.exited;
      // A command killed by a signal exits like a shell reports it (128 + signal number).
      if (child.signalCode) code = 128 + (child.signalCode === 'SIGKILL' ? 9 : child.signalCode === 'SIGINT' ? 2 : 15);
    } finally {
      await bot.close();
      rmSync(dir, { recursive: true, force: true });
    }
    process.exit(code);
  }),
});

export default defineCommand({
  meta: { name: 'ci', description: 'Run CI steps with a short-lived bot identity' },
  subCommands: { exec },
});
