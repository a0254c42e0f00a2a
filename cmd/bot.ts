import { join, resolve } from 'node:path';
import { defineCommand } from 'citty';
import type { BotExtraOutputs } from '../core/bot/outputs.ts';
import { systemClock } from '../core/clock.ts';
import { privateUmask } from '../core/config/privateDir.ts';
import { describe } from '../core/errors.ts';
import type { BotKubeIdentity } from '../plugins/kube/botKubeconfig.ts';
import { allValues, repeatable } from './lib/argv.ts';
import { botDbArgs, writeBotDbFlags } from './lib/botDb.ts';
import { action, durationArg, listArg, proxyArg } from './lib/context.ts';
import { runUntilSignal } from './lib/daemon.ts';
import { idTokenArgs, idTokenSource, joinMethodArg } from './lib/joinFlags.ts';
import { selfCommand } from './lib/self.ts';

const start = defineCommand({
  meta: {
    name: 'start',
    description:
      'Join as a bot with a token and keep DIR/identity, DIR/ssh_config, DIR/known_hosts, DIR/key and\n' +
      'DIR/key-cert.pub fresh (0600). Then: tp -i DIR/identity ssh node1 cmd, or ssh -F DIR/ssh_config node1.\n' +
      'With --kube k1: DIR/kubeconfig too, for KUBECONFIG=DIR/kubeconfig kubectl get pods.\n' +
      'Example: tp bot start --proxy tp.example.com:3080 --token T --ca-pin sha256:... --out /var/lib/tp-bot\n' +
      'In GitHub Actions (permissions: id-token: write), no secret: tp bot start --join-method github --token deploy-github ...\n' +
      'With --db pg1 --db-user app: DIR/db/pg1/ (connect.sh runs psql/mariadb through a tunnel; tunnel.sh, README).\n' +
      'With --app grafana: DIR/app/grafana/{tls.crt,tls.key,ca.crt}, an app certificate for curl, renewed with the identity.',
  },
  args: {
    proxy: { type: 'string', description: 'The proxy, host:port' },
    token: {
      type: 'string',
      description:
        'Join token from `tp bots add`, or the join method name with --join-method github|oidc (without it: renew the identity in --out)',
    },
    ...idTokenArgs,
    'ca-pin': { type: 'string', description: 'Expected cluster CA pin (sha256:..., printed by `tp bots add`)' },
    out: { type: 'string', required: true, description: 'Directory for the outputs (made 0700)' },
    ssh: { type: 'boolean', default: true, description: 'Write ssh_config, known_hosts, key, key-cert.pub' },
    kube: repeatable({
      type: 'string',
      description: 'Write DIR/kubeconfig with a context for this Kubernetes cluster (repeatable, or k1,k2)',
    }),
    app: repeatable({
      type: 'string',
      description: 'Write DIR/app/NAME/ with an app certificate for this web app (repeatable, or a,b)',
    }),
    oneshot: { type: 'boolean', description: 'Write the outputs once and exit' },
    ttl: { type: 'string', description: "Certificate lifetime to ask for (capped by the bot's)" },
    'renew-every': { type: 'string', description: 'Renew at least this often (default: when a third is left)' },
    'status-addr': { type: 'string', description: 'Serve /healthz and /metrics here, e.g. 127.0.0.1:9000' },
    ...botDbArgs,
  },
  run: action(async (args) => {
    privateUmask();
    const method = joinMethodArg(args['join-method']);
    const { BotRunner } = await import('../core/bot/runner.ts');
    const kube = allValues(args.kube).flatMap((k) => listArg(k));
    const apps = allValues(args.app).flatMap((a) => listArg(a));
    const out = resolve(args.out);
    const bot = new BotRunner({
      proxy: args.proxy ? proxyArg(args.proxy) : undefined,
      token: args.token,
      joinMethod: method,
      idToken: await idTokenSource(method, args['id-token-file']),
      caPin: args['ca-pin'],
      out,
      ttlMs: durationArg('ttl', args.ttl),
      renewEveryMs: durationArg('renew-every', args['renew-every']),
      tp: selfCommand(),
      extraOutputs: await extraOutputs(kube, apps, out),
      clock: systemClock,
      random: Math.random,
    });
    const id = await bot.first();
    process.stderr.write(`bot ${id.user} instance ${id.instance}: identity written to ${args.out}\n`);
    const dbDir = await writeBotDbFlags(args, args.out, selfCommand());
    if (dbDir) process.stderr.write(`database ${args.db}: see ${dbDir}/README\n`);
    if (kube.length > 0) await warnUnreachable(id, kube);
    for (const app of apps)
      process.stderr.write(`app ${app}: certificate in ${join(out, 'app', app)}/ (tls.crt, tls.key, ca.crt)\n`);
    if (args.oneshot) return;
    await runUntilSignal(
      async () => {
        const addr = args['status-addr'] ? await bot.serveStatus(args['status-addr']) : undefined;
        bot.run();
        return { addr, close: () => bot.close() };
      },
      (s) => {
        if (s.addr) process.stderr.write(`bot status on http://${s.addr}/healthz\n`);
      },
    );
  }),
});

/** The extra outputs asked for (`--kube`, `--app`), made together at every write. */
async function extraOutputs(kube: string[], apps: string[], out: string): Promise<BotExtraOutputs | undefined> {
  const hooks: BotExtraOutputs[] = [];
  if (kube.length > 0) hooks.push(await kubeOutputs(kube, out));
  if (apps.length > 0) hooks.push((await import('../core/bot/appOutputs.ts')).botAppOutputs(apps));
  if (hooks.length === 0) return undefined;
  return async (id, dir) => Object.assign({}, ...(await Promise.all(hooks.map((h) => h(id, dir)))));
}

/** DIR/kubeconfig for `clusters`, its credentials from `tp -i DIR/identity kube credentials`. */
async function kubeOutputs(clusters: string[], out: string): Promise<BotExtraOutputs> {
  const { botKubeconfig } = await import('../plugins/kube/botKubeconfig.ts');
  return async (id) => ({ kubeconfig: botKubeconfig(id, clusters, join(out, 'identity'), selfCommand()) });
}

/** Says which of the `--kube` clusters the bot's roles do not reach (kubectl would be refused there). */
async function warnUnreachable(id: BotKubeIdentity, asked: string[]): Promise<void> {
  const { botKubeClusters } = await import('../plugins/kube/botKubeconfig.ts');
  try {
    const reached = await botKubeClusters(id);
    const missing = asked.filter((k) => !reached.includes(k));
    if (missing.length > 0)
      process.stderr.write(
        `warning: the bot's roles reach no Kubernetes cluster ${missing.join(', ')} ` +
          `(they reach: ${reached.join(', ') || 'none'}); kubectl will be refused there\n`,
      );
  } catch (err) {
    process.stderr.write(`warning: could not list the Kubernetes clusters the bot reaches: ${describe(err)}\n`);
  }
}

export default defineCommand({
  meta: { name: 'bot', description: 'Run a bot: join with a token and keep an identity file fresh' },
  subCommands: { start },
});
