// `tp db ls`: the databases the user's roles let them reach, with the db users granted there.
import { defineCommand } from 'citty';
import { listDatabases, protocolOf } from '../core/client/dbResources.ts';
import { requireProfile } from '../core/client/profile.ts';
import { BadParameter } from '../core/errors.ts';
import { action } from './lib/context.ts';
import { formatArg, formatOf, print, table } from './lib/output.ts';

export default defineCommand({
  meta: {
    name: 'ls',
    description:
      'List the databases your roles let you reach, with the database users they allow\n' +
      'Examples:\n  tp db ls\n  tp db ls env=dev --format json',
  },
  args: {
    labels: {
      type: 'positional',
      required: false,
      valueHint: 'key=value...',
      description: 'Label filters k=v (all must match)',
    },
    ...formatArg,
  },
  run: action(async (args) => {
    const format = formatOf(args.format);
    const filters = ((args._ as string[] | undefined) ?? []).map((f) => {
      const i = f.indexOf('=');
      if (i < 1) throw new BadParameter(`label filter "${f}" must look like key=value`);
      return [f.slice(0, i), f.slice(i + 1)] as const;
    });
    const dbs = (await listDatabases(requireProfile())).filter((d) => filters.every(([k, v]) => d.labels[k] === v));
    const rows = dbs.map((d) => ({
      name: d.name,
      protocol: protocolOf(d),
      plugin: d.plugin,
      labels: d.labels,
      online: d.online,
      db_users: d.principals ?? null,
    }));
    await print(format, 'db ls', rows, () =>
      table(
        rows.map((r) => ({
          ...r,
          labels: Object.entries(r.labels).map(([k, v]) => `${k}=${v}`),
          db_users: r.db_users ?? '',
          status: r.online ? 'online' : 'offline',
        })),
        ['name', 'protocol', 'labels', 'db_users', 'status'],
        'no databases you may reach',
      ),
    );
  }),
});
