import { defineCommand } from 'citty';
import type { RecordingMeta } from '../core/api/schemas.ts';
import { action, adminArgs, adminAuth, formatArg } from './lib/context.ts';
import { formatOf, print, table } from './lib/output.ts';
import { recordingView } from './lib/outputViews.ts';

const rows = (list: RecordingMeta[]) =>
  list.map((r) => ({
    session: r.sessionId,
    started: r.startedAt,
    user: r.user,
    login: r.login,
    node: r.serverName,
    kind: r.kind === 'exec' ? `exec: ${(r.command ?? '').slice(0, 40)}` : 'shell',
    status: r.status === 'failed' ? `FAILED: ${r.error ?? ''}` : r.status,
  }));
const columns = ['session', 'started', 'user', 'login', 'node', 'kind', 'status'];

const ls = defineCommand({
  meta: { name: 'ls', description: 'List session recordings, newest first, with their upload status' },
  args: { limit: { type: 'string', default: '100', description: 'At most this many' }, ...adminArgs, ...formatArg },
  run: action(async (args) => {
    const list = await adminAuth(args).listRecordings(Number(args.limit));
    await print(formatOf(args.format), 'recordings ls', list.map(recordingView), () =>
      table(rows(list), columns, 'no recordings'),
    );
  }),
});

const search = defineCommand({
  meta: {
    name: 'search',
    description:
      'Find sessions whose output contains TEXT (case-insensitive). Example: tp recordings search "DROP TABLE"',
  },
  args: {
    text: { type: 'positional', required: true, description: 'Text to find (3+ characters)' },
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    const list = await adminAuth(args).searchRecordings(args.text);
    await print(formatOf(args.format), 'recordings search', list.map(recordingView), () =>
      table(rows(list), columns, `no session printed "${args.text}"`),
    );
  }),
});

export default defineCommand({
  meta: {
    name: 'recordings',
    description: 'Session recordings: your own sessions, or every one when a role allows recording list/read',
  },
  subCommands: { ls, search },
});
