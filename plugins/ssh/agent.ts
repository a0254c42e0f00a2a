import type { AgentPlugin, AgentPluginContext } from '../../core/plugin/types.ts';
import type { SshNode } from '../../core/ssh/node.ts';

/**
 * The SSH node as a plugin's agent side: it verifies each user's SSH certificate itself (end to end), follows the
 * agent's host identity through CA rotations, records sessions into the agent's spool and ends sessions a new
 * lock covers. Its node is the agent's own heartbeat record, so it announces no extra resources.
 */
export function startSshAgent(ctx: AgentPluginContext): AgentPlugin {
  let current = ctx.identity();
  let node: SshNode | undefined;
  let loading: Promise<SshNode> | undefined;
  // The SSH server (ssh2 and tp's session code, ~30 MB resident) loads with the first session: an idle agent,
  // an IoT device most of its life, never pays for it.
  const ready = () =>
    (loading ??= import('../../core/ssh/node.ts').then(({ SshNode }) => {
      node = new SshNode({
        hostId: ctx.hostId,
        nodeName: ctx.nodeName,
        labels: ctx.labels,
        hostKey: current.sshKey,
        hostCert: current.sshCert,
        state: ctx.state,
        emit: ctx.emit,
        clock: ctx.clock,
        ids: ctx.ids,
        recording: ctx.recording,
      });
      return node;
    }));
  ctx.onIdentity((next) => {
    current = next;
    node?.setHostIdentity(next.sshKey, next.sshCert);
  });
  ctx.state.onChange((kinds) => {
    if (kinds.has('lock')) node?.enforceLocks();
  });
  return {
    resources: () => [],
    serve: async (stream, session) => {
      // Hold the client's first bytes while the server loads: ssh2 resumes the stream once its crypto is ready.
      stream.pause();
      const n = await ready();
      await new Promise<void>((resolve) => {
        stream.once('close', () => resolve());
        n.serve(stream, session.client, session.id);
      });
    },
    close: async () => node?.close(),
  };
}
