import { defineCommand } from 'citty';
import type { StoredLock } from '../core/api/schemas.ts';
import { action, adminArgs, adminAuth, durationArg, formatArg } from './lib/context.ts';
import { formatOf, print, table } from './lib/output.ts';
import { lockView } from './lib/outputViews.ts';

/** What a lock names, as `user:alice` (listings) or `user alice` (sentences). */
function lockTargetText(t: StoredLock['target'], sep: string): string {
  if (t.user) return `user${sep}${t.user}`;
  if (t.botInstance) return `bot_instance${sep}${t.botInstance}`;
  if (t.resource) return `resource${sep}${t.resource}`;
  return `node${sep}${t.node}`;
}

const add = defineCommand({
  meta: {
    name: 'add',
    description:
      'Lock a user, a node or a resource: new logins, certificates and sessions are refused until removed or expired',
  },
  args: {
    user: { type: 'string', description: 'User to lock' },
    node: { type: 'string', description: 'Node (name or host ID) to lock' },
    resource: { type: 'string', description: 'Resource to lock, as KIND/NAME (e.g. db/pg1)' },
    message: { type: 'string', default: '', description: 'Why (shown to the locked-out user)' },
    ttl: { type: 'string', description: 'Lock duration, e.g. 1h (default: until removed)' },
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    const lock = await adminAuth(args).createLock({
      target: { user: args.user, node: args.node, resource: args.resource },
      message: args.message,
      ttlMs: durationArg('ttl', args.ttl),
    });
    await print(
      formatOf(args.format),
      'locks add',
      lockView(lock),
      () => `lock ${lock.id} created on ${lockTargetText(lock.target, ' ')}`,
    );
  }),
});

const ls = defineCommand({
  meta: { name: 'ls', description: 'List locks in force' },
  args: { ...adminArgs, ...formatArg },
  run: action(async (args) => {
    const locks = await adminAuth(args).listLocks();
    await print(formatOf(args.format), 'locks ls', locks.map(lockView), () =>
      table(
        locks.map((l) => ({
          id: l.id,
          target: lockTargetText(l.target, ':'),
          message: l.message,
          expires: l.expires ? new Date(l.expires).toISOString() : 'never',
          created_by: l.createdBy,
        })),
        ['id', 'target', 'message', 'expires', 'created_by'],
        'no locks',
      ),
    );
  }),
});

const rm = defineCommand({
  meta: { name: 'rm', description: 'Remove a lock' },
  args: { id: { type: 'positional', required: true, description: 'Lock ID (see `tp locks ls`)' }, ...adminArgs },
  run: action(async (args) => {
    await adminAuth(args).removeLock(args.id);
    process.stdout.write(`lock ${args.id} removed\n`);
  }),
});

export default defineCommand({
  meta: { name: 'locks', description: 'Lock users, nodes or resources out' },
  subCommands: { add, ls, rm },
});
