/** The MySQL/MariaDB plugin: databases reached on ALPN `tp-db-mysql`, served by the agent with short-lived certs. */

import { definePlugin } from '../../core/plugin/define.ts';
import { dbPolicy } from '../../core/rbac/dbPolicy.ts';
import { isMysqlEntry, type MysqlDatabase, MysqlDatabaseSchema, parseDbFlag } from './config.ts';

export default definePlugin<MysqlDatabase>({
  name: 'db-mysql',
  kind: 'db',
  alpn: ['tp-db-mysql'],
  config: MysqlDatabaseSchema,
  section: { key: 'db', list: 'databases' },
  // Every database plugin shares the db kind's RBAC: db_labels, db_users, db_names.
  policy: dbPolicy,
  claims: isMysqlEntry,
  flag: {
    name: 'db',
    description: 'serve a database, NAME=mysql://HOST:PORT (repeatable)',
    parse: parseDbFlag,
  },
  agent: async (ctx, entries) => (await import('./agent.ts')).startMysqlAgent(ctx, entries),
  // mariadb's arguments, the connect hint and MYSQL_* lines for `tp db` and `tp proxy db --tunnel`.
  commands: () => import('./client.ts'),
});
