/** The plugin name SSH streams travel under (the tunnel header's `service`): plugins/ssh registers it. */
export const SSH_SERVICE = 'ssh';
