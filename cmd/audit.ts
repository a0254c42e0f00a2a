import { defineCommand } from 'citty';
import { BadParameter } from '../core/errors.ts';
import { action, adminArgs, adminAuth, durationArg, formatArg } from './lib/context.ts';
import { formatOf, print, table } from './lib/output.ts';

/** A time flag: a duration back from now (`1h`) or an ISO time. */
function timeArg(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!Number.isNaN(t) && /\d{4}-\d\d-\d\d/.test(value)) return t;
  return Date.now() - (durationArg(flag, value) ?? 0);
}

const search = defineCommand({
  meta: {
    name: 'search',
    description:
      'Search the audit log. Example: tp audit search --since 1h --type user.login --user alice --format json',
  },
  args: {
    since: { type: 'string', default: '24h', description: 'From: a duration back (15m, 1h, 7d) or an ISO time' },
    until: { type: 'string', description: 'Until: a duration back or an ISO time (default: now)' },
    type: { type: 'string', description: 'Event type, e.g. user.login, session.start, exec, lock.created' },
    user: { type: 'string', description: 'Only events by this user' },
    session: { type: 'string', description: 'Only events of this session ID' },
    limit: {
      type: 'string',
      default: '1000',
      description: 'At most this many events, the newest (listed newest first)',
    },
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    const limit = Number(args.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw new BadParameter(`--limit must be a positive whole number (got "${args.limit}")`);
    // Newest first, like `tp recordings ls`: --limit 5 shows the last five events.
    const q = new URLSearchParams({
      since: String(timeArg('since', args.since)),
      limit: String(limit),
      order: 'newest',
    });
    const until = timeArg('until', args.until);
    if (until !== undefined) q.set('until', String(until));
    if (args.type) q.set('type', args.type);
    if (args.user) q.set('user', args.user);
    if (args.session) q.set('session', args.session);
    const events = await adminAuth(args).searchEvents(q);
    await print(formatOf(args.format), 'audit search', events, () =>
      table(
        events.map((e) => ({
          time: e.time,
          type: e.type,
          code: e.code,
          user: e.user,
          login: e.login,
          node: e.server_name,
          result: e.success ? 'ok' : `failed: ${e.error ?? ''}`,
        })),
        ['time', 'type', 'code', 'user', 'login', 'node', 'result'],
        'no matching events',
      ),
    );
  }),
});

const exportCmd = defineCommand({
  meta: {
    name: 'export',
    description:
      'Stream the audit log as JSON lines for a SIEM, in storage order. Each line has a "cursor"; resume with\n' +
      '--cursor N (the last one you stored). --follow keeps polling for new events.',
  },
  args: {
    cursor: { type: 'string', default: '0', description: 'Start after this cursor' },
    follow: { type: 'boolean', description: 'Keep waiting for new events' },
    'poll-ms': { type: 'string', default: '1000', description: 'Poll interval with --follow' },
    ...adminArgs,
  },
  run: action(async (args) => {
    let cursor = Number(args.cursor);
    if (!Number.isInteger(cursor) || cursor < 0) throw new BadParameter('--cursor must be a non-negative integer');
    const auth = adminAuth(args);
    for (;;) {
      const page = await auth.exportEvents(cursor, 5000);
      if (page.length) process.stdout.write(`${page.map((e) => JSON.stringify(e)).join('\n')}\n`);
      cursor = page.at(-1)?.cursor ?? cursor;
      if (page.length === 5000) continue;
      if (!args.follow) break;
      await Bun.sleep(Number(args['poll-ms']));
    }
    process.stderr.write(`resume with: tp audit export --cursor ${cursor}\n`);
  }),
});

export default defineCommand({
  meta: { name: 'audit', description: 'The audit log' },
  subCommands: { search, export: exportCmd },
});
