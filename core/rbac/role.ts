import type { Role } from './schema.ts';

export type { Resource, Role, RoleConditions, Verb } from './schema.ts';

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/** True if `name` is a valid user or role name. */
export function validName(name: string): boolean {
  return NAME.test(name);
}

/** The roles every new cluster starts with. */
export function presetRoles(): Role[] {
  return [
    {
      kind: 'role',
      version: 'v1',
      metadata: {
        name: 'admin',
        description:
          "Full control of the cluster, SSH as the user's logins or root, databases as the user's db users and names, every web app and desktop (as the user's desktop logins)",
      },
      spec: {
        options: { max_session_ttl: '30h', forward_agent: true, port_forwarding: true },
        allow: {
          logins: ['{{internal.logins}}', 'root'],
          node_labels: { '*': '*' },
          db_labels: { '*': '*' },
          app_labels: { '*': '*' },
          desktop_labels: { '*': '*' },
          desktop_logins: ['{{internal.desktop_logins}}'],
          db_users: ['{{internal.db_users}}'],
          db_names: ['{{internal.db_names}}'],
          rules: [{ resources: ['*'], verbs: ['*'] }],
        },
        deny: {},
      },
    },
    {
      kind: 'role',
      version: 'v1',
      metadata: {
        name: 'access',
        description:
          "SSH to every node as the user's own logins, databases as the user's own db users and names, every web app and desktop (as the user's own desktop logins)",
      },
      spec: {
        options: { max_session_ttl: '30h', forward_agent: true, port_forwarding: true },
        allow: {
          logins: ['{{internal.logins}}'],
          node_labels: { '*': '*' },
          db_labels: { '*': '*' },
          app_labels: { '*': '*' },
          desktop_labels: { '*': '*' },
          desktop_logins: ['{{internal.desktop_logins}}'],
          db_users: ['{{internal.db_users}}'],
          db_names: ['{{internal.db_names}}'],
          rules: [{ resources: ['node'], verbs: ['list', 'read'] }],
        },
        deny: { logins: ['root'] },
      },
    },
  ];
}
