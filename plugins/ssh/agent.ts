import type { AgentPlugin, AgentPluginContext } from '../../core/plugin/types.ts';
import { SshNode } from '../../core/ssh/node.ts';

/**
 * The SSH node as a plugin's agent side: it verifies each user's SSH certificate itself (end to end), follows the
 * agent's host identity through CA rotations, records sessions into the agent's spool and ends sessions a new
 * lock covers. Its node is the agent's own heartbeat record, so it announces no extra resources.
 */
export function startSshAgent(ctx: AgentPluginContext): AgentPlugin {
  const id = ctx.identity();
  const node = new SshNode({
    hostId: ctx.hostId,
    nodeName: ctx.nodeName,
    labels: ctx.labels,
    hostKey: id.sshKey,
    hostCert: id.sshCert,
    state: ctx.state,
    emit: ctx.emit,
    clock: ctx.clock,
    ids: ctx.ids,
    recording: ctx.recording,
  });
  ctx.onIdentity((next) => node.setHostIdentity(next.sshKey, next.sshCert));
  ctx.state.onChange((kinds) => {
    if (kinds.has('lock')) node.enforceLocks();
  });
  return {
    resources: () => [],
    serve: (stream, session) =>
      new Promise<void>((resolve) => {
        stream.once('close', () => resolve());
        node.serve(stream, session.client, session.id);
      }),
    close: async () => node.close(),
  };
}
