import { readFileSync } from 'node:fs';
import { defineCommand } from 'citty';
import { parse as parseYaml } from 'yaml';
import { BadParameter, describe } from '../core/errors.ts';
import { action, adminArgs, adminAuth, formatArg, readStdin } from './lib/context.ts';
import { formatOf, print, table } from './lib/output.ts';

const ls = defineCommand({
  meta: { name: 'ls', description: 'List roles' },
  args: { ...adminArgs, ...formatArg },
  run: action(async (args) => {
    const roles = await adminAuth(args).listRoles();
    await print(formatOf(args.format), 'roles ls', roles, () =>
      table(
        roles.map((r) => ({
          name: r.metadata.name,
          logins: r.spec.allow.logins,
          denied_logins: r.spec.deny.logins,
          max_ttl: r.spec.options.max_session_ttl ?? '12h',
          description: r.metadata.description,
        })),
        ['name', 'logins', 'denied_logins', 'max_ttl', 'description'],
      ),
    );
  }),
});

const get = defineCommand({
  meta: { name: 'get', description: 'Show one role (yaml by default, usable as input to `create -f`)' },
  args: {
    name: { type: 'positional', required: true, description: 'Role name' },
    ...adminArgs,
    format: { type: 'string', default: 'yaml', description: 'yaml or json' },
  },
  run: action(async (args) => {
    const role = await adminAuth(args).getRole(args.name);
    await print(formatOf(args.format === 'text' ? 'yaml' : args.format), 'roles get', role, () => '');
  }),
});

const create = defineCommand({
  meta: {
    name: 'create',
    description:
      'Create a role from a YAML file (-f FILE, or -f - for stdin). --force replaces an existing role.\n' +
      'Example role.yaml:\n' +
      '  kind: role\n  metadata: { name: dev }\n  spec:\n    options: { max_session_ttl: 8h, forward_agent: true }\n' +
      '    allow: { logins: ["{{internal.logins}}", ubuntu], node_labels: { env: [dev, staging] } }\n' +
      '    deny: { logins: [root] }\n' +
      'Databases: db_labels (like node_labels), db_users and db_names (lists; "{{internal.db_users}}" and\n' +
      '"{{internal.db_names}}" expand the traits `tp users add|update --db-users/--db-names` set; "*" is any).',
  },
  args: {
    file: { type: 'string', alias: 'f', required: true, description: 'Role YAML file, or - for stdin' },
    force: { type: 'boolean', description: 'Replace the role if it exists' },
    ...adminArgs,
  },
  run: action(async (args) => {
    const text = args.file === '-' ? await readStdin() : readFileSync(args.file, 'utf8');
    let role: unknown;
    try {
      role = parseYaml(text);
    } catch (err) {
      throw new BadParameter(`${args.file}: not valid YAML: ${describe(err)}`, {}, { cause: err });
    }
    const r = await adminAuth(args).putRole(role, !!args.force);
    process.stdout.write(`role "${r.name}" ${args.force ? 'saved' : 'created'}\n`);
  }),
});

const rm = defineCommand({
  meta: { name: 'rm', description: 'Delete a role no user holds' },
  args: { name: { type: 'positional', required: true, description: 'Role name' }, ...adminArgs },
  run: action(async (args) => {
    await adminAuth(args).deleteRole(args.name);
    process.stdout.write(`role "${args.name}" deleted\n`);
  }),
});

export default defineCommand({
  meta: { name: 'roles', description: 'Manage roles' },
  subCommands: { ls, get, create, rm },
});
