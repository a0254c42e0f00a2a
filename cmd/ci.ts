import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import type { BotExtraOutputs } from '../core/bot/outputs.ts';
import { systemClock } from '../core/clock.ts';
import { BadParameter, describe } from '../core/errors.ts';
import { action, durationArg, proxyArg } from './lib/context.ts';
import { idTokenArgs, idTokenSource, joinMethodArg } from './lib/joinFlags.ts';
import { selfCommand } from './lib/self.ts';

const exec = defineCommand({
  meta: {
    name: 'exec',
    description:
      'Join as a bot, run a command with TP_IDENTITY and TP_SSH_CONFIG (and KUBECONFIG, when the bot reaches\n' +
      'Kubernetes clusters: one context each) pointing at files in a private temporary directory (kept fresh while\n' +
      "it runs), then remove every file. Exits with the command's status.\n" +
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
    const kube = await kubeOutputs(dir);
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
      extraOutputs: kube.outputs,
      clock: systemClock,
      random: Math.random,
    });
    try {
      await bot.first();
      bot.run();
      const env: Record<string, string | undefined> = {
        ...process.env,
        TP_IDENTITY: join(dir, 'identity'),
        TP_SSH_CONFIG: join(dir, 'ssh_config'),
      };
      if (kube.clusters().length > 0) env.KUBECONFIG = join(dir, 'kubeconfig');
      const child = Bun.spawn(command, {
        env,
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

/**
 * The step's kubeconfig: a context for every Kubernetes cluster the bot's roles reach (asked again at each renewal;
 * when the proxy cannot say, the last answer stands), none when they reach none.
 */
async function kubeOutputs(dir: string): Promise<{ outputs: BotExtraOutputs; clusters: () => string[] }> {
  const { botKubeClusters, botKubeconfig } = await import('../plugins/kube/botKubeconfig.ts');
  let clusters: string[] = [];
  return {
    clusters: () => clusters,
    outputs: async (id): Promise<Record<string, string>> => {
      try {
        clusters = await botKubeClusters(id);
      } catch (err) {
        process.stderr.write(`warning: could not list the Kubernetes clusters the bot reaches: ${describe(err)}\n`);
      }
      return clusters.length > 0
        ? { kubeconfig: botKubeconfig(id, clusters, join(dir, 'identity'), selfCommand()) }
        : {};
    },
  };
}

export default defineCommand({
  meta: { name: 'ci', description: 'Run CI steps with a short-lived bot identity' },
  subCommands: { exec },
});
