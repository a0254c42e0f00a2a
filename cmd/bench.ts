import { defineCommand } from 'citty';
import { localUsername } from '../core/client/localUser.ts';
import { requireProfile } from '../core/client/profile.ts';
import { runSshBench } from '../core/client/sshBench.ts';
import { BadParameter } from '../core/errors.ts';
import { action, durationArg } from './lib/context.ts';
import { formatArg, formatOf, print } from './lib/output.ts';
import { benchView } from './lib/outputViews.ts';

const ssh = defineCommand({
  meta: {
    name: 'ssh',
    description:
      'Start SSH sessions through the proxy at a fixed rate and report latency percentiles and errors.\n' +
      'Example: tp bench ssh --rate 20 --duration 30s node1 true    (--interactive: a PTY shell runs the command)',
  },
  args: {
    node: { type: 'positional', required: true, description: 'Node to connect to ([login@]node)' },
    command: {
      type: 'positional',
      required: false,
      valueHint: 'command...',
      description: 'Command to run (default: true)',
    },
    rate: { type: 'string', default: '10', description: 'Sessions started per second' },
    duration: { type: 'string', default: '10s', description: 'How long to keep starting sessions' },
    interactive: { type: 'boolean', description: 'Use a PTY shell instead of exec' },
    'max-in-flight': { type: 'string', default: '500', description: 'Cap on concurrent sessions' },
    ...formatArg,
  },
  run: action(async (args) => {
    const rate = Number(args.rate);
    if (!(rate > 0 && rate <= 10_000)) throw new BadParameter('--rate must be between 0 and 10000 sessions per second');
    const durationMs = durationArg('duration', args.duration)!;
    if (durationMs > 3_600_000) throw new BadParameter('--duration is at most 1h (use `just soak` for longer runs)');
    const profile = requireProfile();
    const at = args.node.lastIndexOf('@');
    const node = at >= 0 ? args.node.slice(at + 1) : args.node;
    const login = at >= 0 ? args.node.slice(0, at) : (profile.logins[0] ?? localUsername());
    const command = ((args._ as string[] | undefined) ?? []).slice(1).join(' ') || 'true';
    const r = await runSshBench({
      profile,
      node,
      login,
      command,
      interactive: args.interactive,
      rate,
      durationMs,
      maxInFlight: Number(args['max-in-flight']),
    });
    await print(formatOf(args.format), 'bench ssh', benchView(r), () =>
      [
        `${r.ok}/${r.started} sessions ok at ${r.rate}/s for ${args.duration} (${r.errors} errors, ${r.skipped} skipped at the in-flight cap)`,
        `latency ms: p50 ${r.p50.toFixed(1)}  p90 ${r.p90.toFixed(1)}  p99 ${r.p99.toFixed(1)}  max ${r.max.toFixed(1)}`,
        r.firstError ? `first error: ${r.firstError}` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    if (r.errors > 0) process.exitCode = 1;
  }),
});

export default defineCommand({
  meta: { name: 'bench', description: 'Load tools: measure tp on your own cluster' },
  subCommands: { ssh },
});
