import { definePlugin } from '../../core/plugin/define.ts';
import { SSH_SERVICE } from '../../core/ssh/service.ts';

/**
 * SSH, the first plugin: the proxy relays `tp-ssh` connections to nodes (the session stays end to end, so streams
 * carry no user certificate: the node verifies the user's SSH certificate itself), and the agent runs the SSH node.
 */
export default definePlugin({
  name: SSH_SERVICE,
  kind: 'node',
  alpn: ['tp-ssh'],
  endToEnd: true,
  proxy: { handle: async (socket, ctx) => (await import('./proxy.ts')).relaySsh(socket, ctx) },
  agent: async (ctx) => (await import('./agent.ts')).startSshAgent(ctx),
});
