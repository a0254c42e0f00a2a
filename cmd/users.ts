import { defineCommand } from 'citty';
import { BadParameter } from '../core/errors.ts';
import { loginRefusals } from '../core/rbac/index.ts';
import { action, adminArgs, adminAuth, formatArg, listArg, readStdin } from './lib/context.ts';
import { formatOf, print, table } from './lib/output.ts';
import { userView } from './lib/outputViews.ts';

const add = defineCommand({
  meta: {
    name: 'add',
    description:
      'Add a user. With --password-stdin the user can log in at once; without it, tp prints a one-time sign-up link\n' +
      '(valid 24h) where the user sets a password and enrols a second factor.\n' +
      'Example: echo "$PW" | tp users add alice --roles access --logins alice,ubuntu --password-stdin',
  },
  args: {
    name: { type: 'positional', description: 'User name', required: true },
    roles: { type: 'string', description: 'Roles, comma-separated (see `tp roles ls`)', required: true },
    logins: {
      type: 'string',
      description: 'OS logins, comma-separated (the internal.logins trait; default: the user name)',
    },
    'password-stdin': { type: 'boolean', description: 'Read the password (12+ characters) from stdin' },
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    let password: string | undefined;
    if (args['password-stdin']) {
      password = (await readStdin()).replace(/\r?\n$/, '');
      if (!password) throw new BadParameter('--password-stdin: nothing on stdin');
    }
    const logins = args.logins !== undefined ? listArg(args.logins) : undefined;
    const auth = adminAuth(args);
    const r = await auth.createUser({
      name: args.name,
      roles: listArg(args.roles),
      logins,
      password,
    });
    // A login the roles deny is accepted (roles may change later) but would silently never work: say so.
    const all = await auth.listRoles().catch((err: Error) => {
      process.stderr.write(`note: the logins were not checked against the roles: ${err.message}\n`);
      return [];
    });
    const roles = r.user.roles.flatMap((name) => all.find((role) => role.metadata.name === name) ?? []);
    for (const refused of loginRefusals(roles, r.user.traits)) {
      const why = refused.deniedBy
        ? `role ${refused.deniedBy} denies it`
        : `no role of ${r.user.roles.join(', ')} grants it`;
      process.stderr.write(`warning: ${r.user.name} cannot log in as ${refused.login}: ${why}\n`);
    }
    const out = { user: userView(r.user), signup_url: r.signupUrl ?? null, totp_uri: r.totpUri ?? null };
    await print(formatOf(args.format), 'users add', out, () =>
      [
        `user "${r.user.name}" added with roles ${r.user.roles.join(', ')} and logins ${r.user.traits.logins?.join(', ')}`,
        r.signupUrl ? `share this one-time sign-up link (valid 24h): ${r.signupUrl}` : '',
        r.totpUri ? `second factor: add this to an authenticator app: ${r.totpUri}` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }),
});

const ls = defineCommand({
  meta: { name: 'ls', description: 'List users' },
  args: { ...adminArgs, ...formatArg },
  run: action(async (args) => {
    const users = await adminAuth(args).listUsers();
    await print(formatOf(args.format), 'users ls', users.map(userView), () =>
      table(
        users.map((u) => ({
          ...u,
          logins: u.traits.logins,
          status: u.lockedUntil
            ? `locked until ${u.lockedUntil}`
            : u.sso
              ? `sso (${u.sso})`
              : u.hasPassword
                ? 'active'
                : 'invited',
        })),
        ['name', 'roles', 'logins', 'status'],
        'no users yet: add one with `tp users add NAME --roles access`',
      ),
    );
  }),
});

const rm = defineCommand({
  meta: { name: 'rm', description: 'Delete a user' },
  args: { name: { type: 'positional', description: 'User name', required: true }, ...adminArgs },
  run: action(async (args) => {
    await adminAuth(args).deleteUser(args.name);
    process.stdout.write(`user "${args.name}" deleted\n`);
  }),
});

const reset = defineCommand({
  meta: { name: 'reset', description: "Clear a user's password, second factor and lockout; prints a new sign-up link" },
  args: { name: { type: 'positional', description: 'User name', required: true }, ...adminArgs, ...formatArg },
  run: action(async (args) => {
    const r = await adminAuth(args).resetUser(args.name);
    await print(
      formatOf(args.format),
      'users reset',
      { user: args.name, signup_url: r.signupUrl },
      () => `user "${args.name}" reset; share this one-time sign-up link (valid 24h): ${r.signupUrl}`,
    );
  }),
});

export default defineCommand({
  meta: { name: 'users', description: 'Manage users' },
  subCommands: { add, ls, rm, reset },
});
