import { randomUUID } from 'node:crypto';
import { defineCommand } from 'citty';
import { BadParameter } from '../core/errors.ts';
import { parseLabels } from './agent.ts';
import { action, adminArgs, adminAuth, formatArg } from './lib/context.ts';
import { formatOf, print, table } from './lib/output.ts';
import { nodeView } from './lib/outputViews.ts';

const add = defineCommand({
  meta: {
    name: 'add',
    description:
      'Register an agentless OpenSSH node the proxy dials directly. Make its sshd trust tp first:\n' +
      '  tp ca export --type user > /etc/ssh/tp_user_ca.pub   (sshd: TrustedUserCAKeys)\n' +
      '  tp ca sign --host NAME --out /etc/ssh/tp             (sshd: HostKey + HostCertificate)',
  },
  args: {
    name: { type: 'string', required: true, description: 'Node name (must match the host certificate)' },
    addr: { type: 'string', required: true, description: 'sshd address host:port' },
    agentless: { type: 'boolean', description: 'Required: the node runs OpenSSH, not a tp agent' },
    labels: { type: 'string', description: 'Labels k=v,k2=v2' },
    ...adminArgs,
    ...formatArg,
  },
  run: action(async (args) => {
    if (!args.agentless)
      throw new BadParameter('only agentless nodes are added by hand (--agentless); agents join with a token');
    const node = {
      hostId: randomUUID(),
      name: args.name,
      addr: args.addr,
      labels: parseLabels(args.labels),
      agentless: true,
      tunnel: false,
    };
    const auth = adminAuth(args);
    await auth.upsertNode(node);
    // Printed as registered (auth stamps the time), as `tp nodes ls` shows it.
    const stored = (await auth.listNodes()).find((n) => n.hostId === node.hostId);
    await print(
      formatOf(args.format),
      'nodes add',
      nodeView(stored ?? { ...node, lastSeen: '' }),
      () => `agentless node "${node.name}" (${node.hostId}) added at ${node.addr}`,
    );
  }),
});

const ls = defineCommand({
  meta: { name: 'ls', description: 'List registered nodes (admin view; users run `tp ls`)' },
  args: { ...adminArgs, ...formatArg },
  run: action(async (args) => {
    const nodes = await adminAuth(args).listNodes();
    await print(formatOf(args.format), 'nodes ls', nodes.map(nodeView), () =>
      table(
        nodes.map((n) => ({
          ...n,
          labels: Object.entries(n.labels).map(([k, v]) => `${k}=${v}`),
          kind: n.agentless ? 'agentless' : n.tunnel ? 'tunnel' : 'direct',
        })),
        ['name', 'hostId', 'addr', 'kind', 'labels', 'lastSeen'],
        'no nodes',
      ),
    );
  }),
});

const rm = defineCommand({
  meta: { name: 'rm', description: 'Remove a node by name or host ID' },
  args: { node: { type: 'positional', required: true, description: 'Name or host ID' }, ...adminArgs },
  run: action(async (args) => {
    await adminAuth(args).removeNode(args.node);
    process.stdout.write(`node "${args.node}" removed\n`);
  }),
});

export default defineCommand({
  meta: { name: 'nodes', description: 'Manage nodes (admin)' },
  subCommands: { add, ls, rm },
});
