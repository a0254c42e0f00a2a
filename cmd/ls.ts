import { defineCommand } from 'citty';
import { OnlineNodesSchema } from '../core/api/webSchemas.ts';
import { proxyApi } from '../core/client/login.ts';
import { profileTexts, requireProfile } from '../core/client/profile.ts';
import { BadParameter } from '../core/errors.ts';
import { action } from './lib/context.ts';
import { formatArg, formatOf, print, table } from './lib/output.ts';
import { reachableNodeView } from './lib/outputViews.ts';

export default defineCommand({
  meta: {
    name: 'ls',
    description: 'List the nodes you may reach, optionally filtered by labels. Example: tp ls env=prod --format json',
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
    const p = requireProfile();
    const filters = ((args._ as string[] | undefined) ?? []).map((f) => {
      const i = f.indexOf('=');
      if (i < 1) throw new BadParameter(`label filter "${f}" must look like key=value`);
      return [f.slice(0, i), f.slice(i + 1)] as const;
    });
    const api = proxyApi(p.proxy, {}, { cert: profileTexts(p).tlsCert, key: profileTexts(p).tlsKey });
    const nodes = (await api.send(OnlineNodesSchema, 'GET', '/webapi/nodes')).filter((n) =>
      filters.every(([k, v]) => n.labels[k] === v),
    );
    await print(formatOf(args.format), 'ls', nodes.map(reachableNodeView), () =>
      table(
        nodes.map((n) => ({
          node: n.name,
          address: n.agentless ? n.addr : n.addr ? n.addr : '⟵ tunnel',
          labels: Object.entries(n.labels).map(([k, v]) => `${k}=${v}`),
          id: n.hostId,
          status: n.online ? 'online' : 'offline',
        })),
        ['node', 'address', 'labels', 'status', 'id'],
        'no nodes you may reach',
      ),
    );
  }),
});
