import { defineCommand } from 'citty';
import type { TokenRole } from '../core/api/schemas.ts';
import { caPin } from '../core/crypto/caPin.ts';
import { BadParameter } from '../core/errors.ts';
import { action, adminArgs, adminAuth, durationArg, formatArg, listArg } from './lib/context.ts';
import { formatOf, print, table } from './lib/output.ts';
import { tokenView } from './lib/outputViews.ts';

const isTokenRole = (r: string): r is TokenRole => r === 'node' || r === 'proxy';

const add = defineCommand({
  meta: {
    name: 'add',
    description:
      'Make a join token for agents. The token is printed once; tp keeps only its hash.\n' +
      'Example: tp tokens add --type node --ttl 1h  then on the device: tp agent start --token <token> --proxy HOST:PORT',
  },
  args: {
    type: { type: 'string', default: 'node', description: 'node or proxy (comma-separated for both)' },
    ttl: { type: 'string', default: '30m', description: 'How long the token is valid' },
    multi: { type: 'boolean', description: 'Allow many joins (default: single use)' },
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    const roles = listArg(args.type);
    if (!roles.length || !roles.every(isTokenRole)) throw new BadParameter('--type must be node or proxy');
    const auth = adminAuth(args);
    const r = await auth.createToken({
      roles,
      uses: args.multi ? 'multi' : 'single',
      ttlMs: durationArg('ttl', args.ttl),
    });
    const pin = caPin((await auth.getCa('tls')).tlsCerts[0]!);
    const out = { token: r.token, ca_pin: pin, ...tokenView(r.record) };
    await print(formatOf(args.format), 'tokens add', out, () =>
      [
        r.token,
        `(id ${r.record.id}, ${r.record.uses}-use ${roles.join(',')} token, expires ${out.expires})`,
        roles.includes('node')
          ? `join an agent: tp agent start --proxy PROXY:PORT --token ${r.token} --ca-pin ${pin}`
          : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }),
});

const ls = defineCommand({
  meta: { name: 'ls', description: 'List join tokens (IDs only; token values are never stored)' },
  args: { ...adminArgs, ...formatArg },
  run: action(async (args) => {
    const tokens = await adminAuth(args).listTokens();
    await print(formatOf(args.format), 'tokens ls', tokens.map(tokenView), () =>
      table(
        tokens.map((t) => ({ ...t, expires: new Date(t.expires).toISOString(), used_by: t.usedBy })),
        ['id', 'roles', 'uses', 'used_by', 'expires'],
        'no join tokens',
      ),
    );
  }),
});

const rm = defineCommand({
  meta: { name: 'rm', description: 'Delete a join token by its value or ID' },
  args: { token: { type: 'positional', required: true, description: 'Token or token ID' }, ...adminArgs },
  run: action(async (args) => {
    await adminAuth(args).deleteToken(args.token);
    process.stdout.write('token deleted\n');
  }),
});

export default defineCommand({
  meta: { name: 'tokens', description: 'Manage join tokens' },
  subCommands: { add, ls, rm },
});
