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
    description:
      'List the nodes you may reach, optionally filtered by labels. Example: tp ls env=prod --format json\n' +
      'With --all, also nodes seen in the last week that are offline now, with when they were last seen and the\n' +
      'reason their agent last reported (dns, connect, tls, clock_skew, identity_rejected, cert_expired).',
  },
  args: {
    labels: {
      type: 'positional',
      required: false,
      valueHint: 'key=value...',
      description: 'Label filters k=v (all must match)',
    },
    all: { type: 'boolean', description: 'Include offline nodes seen in the last week, with last-seen and reason' },
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
    const nodes = (await api.send(OnlineNodesSchema, 'GET', args.all ? '/webapi/nodes?all=1' : '/webapi/nodes')).filter(
      (n) => filters.every(([k, v]) => n.labels[k] === v),
    );
    await print(formatOf(args.format), 'ls', nodes.map(reachableNodeView), () =>
      table(
        nodes.map((n) => ({
          node: n.name,
          address: n.agentless ? n.addr : n.addr ? n.addr : '⟵ tunnel',
          labels: Object.entries(n.labels).map(([k, v]) => `${k}=${v}`),
          id: n.hostId,
          status: !n.online ? 'offline' : n.link?.state === 'degraded' ? `degraded (${n.link.reason})` : 'online',
          'last seen': n.online ? '' : n.lastSeen,
          reason: n.link?.reason ?? (n.online ? '' : (n.link?.lastOutage?.reason ?? '')),
        })),
        args.all
          ? ['node', 'address', 'labels', 'status', 'last seen', 'reason', 'id']
          : ['node', 'address', 'labels', 'status', 'id'],
        'no nodes you may reach',
      ),
    );
  }),
});
