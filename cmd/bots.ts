import { defineCommand } from 'citty';
import { caPin } from '../core/crypto/caPin.ts';
import { BadParameter } from '../core/errors.ts';
import { action, adminArgs, adminAuth, durationArg, formatArg, listArg } from './lib/context.ts';
import { formatOf, print, table } from './lib/output.ts';
import { botView, isoTime } from './lib/outputViews.ts';

/** A non-negative whole number flag, naming the flag in the error. */
function countArg(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new BadParameter(`--${flag} must be a whole number, 0 or more`);
  return n;
}

const add = defineCommand({
  meta: {
    name: 'add',
    description:
      'Create a bot (a machine user: no password, never logs in) and print its single-use join token.\n' +
      'Example: tp bots add deploy --roles access --logins deploy --ttl 1h',
  },
  args: {
    name: { type: 'positional', required: true, description: 'Bot name' },
    roles: { type: 'string', required: true, description: 'Roles the bot holds, comma-separated (it never gets more)' },
    logins: { type: 'string', description: 'Logins for {{internal.logins}}, comma-separated' },
    ttl: { type: 'string', default: '1h', description: "Longest lifetime of the bot's certificates" },
    'token-ttl': { type: 'string', default: '1h', description: 'How long the join token is valid' },
    'rejoin-budget': {
      type: 'string',
      default: '0',
      description: 'Rejoins each instance may make with its bound key after its certificate expired',
    },
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    const auth = adminAuth(args);
    const logins = listArg(args.logins);
    const r = await auth.addBot({
      name: args.name,
      roles: listArg(args.roles),
      ...(logins.length ? { logins } : {}),
      ttlMs: durationArg('ttl', args.ttl),
      tokenTtlMs: durationArg('token-ttl', args['token-ttl']),
      rejoinBudget: countArg('rejoin-budget', args['rejoin-budget']),
    });
    const pin = caPin((await auth.getCa('tls')).tlsCerts[0]!);
    const out = { bot: botView(r.bot), token: r.token, token_expires: isoTime(r.tokenExpires)!, ca_pin: pin };
    await print(formatOf(args.format), 'bots add', out, () =>
      [
        `bot "${r.bot.name}" added with roles ${r.bot.roles.join(', ')}`,
        `join token (single use, expires ${r.tokenExpires}): ${r.token}`,
        `ca pin: ${pin}`,
        `on the machine: tp bot start --proxy PROXY:PORT --token ${r.token} --ca-pin ${pin} --out DIR`,
      ].join('\n'),
    );
  }),
});

const ls = defineCommand({
  meta: { name: 'ls', description: 'List bots and their instances' },
  args: { ...adminArgs, ...formatArg },
  run: action(async (args) => {
    const bots = await adminAuth(args).listBots();
    await print(formatOf(args.format), 'bots ls', bots.map(botView), () =>
      table(
        bots.map((b) => ({
          name: b.name,
          roles: b.roles.join(','),
          logins: b.logins.join(','),
          instances: b.instances.length,
          locked: b.instances.filter((i) => i.locked).length,
        })),
        ['name', 'roles', 'logins', 'instances', 'locked'],
        'no bots',
      ),
    );
  }),
});

const rm = defineCommand({
  meta: { name: 'rm', description: 'Delete a bot: its instances and tokens go, its live certificates stop' },
  args: { name: { type: 'positional', required: true, description: 'Bot name' }, ...adminArgs },
  run: action(async (args) => {
    await adminAuth(args).removeBot(args.name);
    process.stdout.write(`bot "${args.name}" deleted\n`);
  }),
});

const lock = defineCommand({
  meta: { name: 'lock', description: 'Lock every instance of a bot (remove with `tp locks rm ID`)' },
  args: {
    name: { type: 'positional', required: true, description: 'Bot name' },
    message: { type: 'string', description: 'Why (shown in refusals)' },
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    const r = await adminAuth(args).lockBot(args.name, args.message ?? '');
    await print(
      formatOf(args.format),
      'bots lock',
      { bot: args.name, lock_id: r.lockId },
      () => `bot "${args.name}" locked (lock ${r.lockId})`,
    );
  }),
});

const token = defineCommand({
  meta: { name: 'token', description: 'Make another single-use join token for a bot (each join is a new instance)' },
  args: {
    name: { type: 'positional', required: true, description: 'Bot name' },
    ttl: { type: 'string', default: '1h', description: 'How long the token is valid' },
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    const auth = adminAuth(args);
    const r = await auth.newBotToken(args.name, durationArg('ttl', args.ttl));
    const pin = caPin((await auth.getCa('tls')).tlsCerts[0]!);
    const out = { token: r.token, token_expires: isoTime(r.tokenExpires)!, ca_pin: pin };
    await print(formatOf(args.format), 'bots token', out, () =>
      [`join token (single use, expires ${r.tokenExpires}): ${r.token}`, `ca pin: ${pin}`].join('\n'),
    );
  }),
});

export default defineCommand({
  meta: { name: 'bots', description: 'Manage bots: machine identities for scripts and CI (admin)' },
  subCommands: { add, ls, rm, lock, token },
});
