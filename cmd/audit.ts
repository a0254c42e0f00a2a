import { defineCommand } from 'citty';
import type { AuditEvent } from '../core/audit/events.ts';
import { action, adminArgs, adminClient, durationArg, formatArg } from './lib/context.ts';
import { formatOf, print, table } from './lib/output.ts';

const search = defineCommand({
  meta: {
    name: 'search',
    description: 'Search the audit log. Example: tp audit search --since 1h --type user.login --format json',
  },
  args: {
    since: { type: 'string', default: '24h', description: 'How far back, e.g. 15m, 1h, 7d' },
    type: { type: 'string', description: 'Event type, e.g. user.login, cert.create, lock.created' },
    user: { type: 'string', description: 'Only events by this user' },
    limit: { type: 'string', default: '1000', description: 'At most this many events' },
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    const q = new URLSearchParams({
      since: String(Date.now() - (durationArg('since', args.since) ?? 0)),
      limit: args.limit,
    });
    if (args.type) q.set('type', args.type);
    if (args.user) q.set('user', args.user);
    const events = await adminClient(args).get<AuditEvent[]>(`/v1/audit/events?${q}`);
    print(formatOf(args.format), events, () =>
      table(
        events.map((e) => ({
          time: e.time,
          type: e.type,
          code: e.code,
          user: e.user,
          result: e.success ? 'ok' : `failed: ${e.error ?? ''}`,
        })),
        ['time', 'type', 'code', 'user', 'result'],
        'no matching events',
      ),
    );
  }),
});

export default defineCommand({ meta: { name: 'audit', description: 'The audit log' }, subCommands: { search } });
