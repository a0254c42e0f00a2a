import { defineCommand } from 'citty';
import { BadParameter } from '../core/errors.ts';
import { loginRefusals } from '../core/rbac/index.ts';
import { action, adminArgs, adminAuth, formatArg, listArg, readStdin } from './lib/context.ts';
import { formatOf, print, table } from './lib/output.ts';
import { userView } from './lib/outputViews.ts';

/** The database traits a role's `{{internal.db_users}}` / `{{internal.db_names}}` expand to. */
const dbTraitArgs = {
  'db-users': {
    type: 'string',
    description: 'Database users, comma-separated (the internal.db_users trait roles may grant)',
  },
  'db-names': {
    type: 'string',
    description: 'Database names, comma-separated (the internal.db_names trait roles may grant)',
  },
} as const;

/** The traits the database flags set; a flag given empty (`--db-users ""`) clears its trait. */
function dbTraits(args: { 'db-users'?: string; 'db-names'?: string }): Record<string, string[]> | undefined {
  const t: Record<string, string[]> = {};
  if (args['db-users'] !== undefined) t.db_users = listArg(args['db-users']);
  if (args['db-names'] !== undefined) t.db_names = listArg(args['db-names']);
  return Object.keys(t).length ? t : undefined;
}

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
    ...dbTraitArgs,
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
      traits: dbTraits(args),
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

const update = defineCommand({
  meta: {
    name: 'update',
    description:
      "Change a user's roles or traits (each flag given replaces that list; the others stay). Certificates already\n" +
      'issued keep their old roles and traits until the user logs in again.\n' +
      'Example: tp users update alice --db-users alice,reader --db-names app',
  },
  args: {
    name: { type: 'positional', description: 'User name', required: true },
    roles: { type: 'string', description: 'Roles, comma-separated (replaces the list)' },
    logins: { type: 'string', description: 'OS logins, comma-separated (the internal.logins trait)' },
    ...dbTraitArgs,
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    const traits = { ...dbTraits(args), ...(args.logins !== undefined ? { logins: listArg(args.logins) } : {}) };
    const roles = args.roles !== undefined ? listArg(args.roles) : undefined;
    if (!roles && Object.keys(traits).length === 0) {
      throw new BadParameter('nothing to change: give --roles, --logins, --db-users or --db-names');
    }
    const u = await adminAuth(args).updateUser(args.name, { roles, traits });
    await print(formatOf(args.format), 'users update', userView(u), () => {
      const t = Object.entries(u.traits).map(([k, vs]) => `${k}=${vs.join(',')}`);
      return `user "${u.name}" updated: roles ${u.roles.join(', ')}; traits ${t.join(' ')}`;
    });
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
  subCommands: { add, update, ls, rm, reset },
});
