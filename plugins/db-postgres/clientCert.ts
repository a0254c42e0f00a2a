// The ephemeral client certificate the agent presents to the database: a fresh key per session, signed by the
// cluster's db client CA through auth, CN = the database user, valid no longer than the user's own certificate.
import { generateKeyPairSync } from 'node:crypto';
import { parseAnswer } from '../../core/api/client.ts';
import { DbClientCertSchema } from '../../core/api/schemas.ts';
import type { AgentPluginContext, VerifiedUser } from '../../core/plugin/types.ts';

/** A certificate with its private key (PEM), and the db CA certificates that sign database servers' certificates. */
export interface DbClientCert {
  cert: string;
  key: string;
  ca: string[];
}

const PATH = '/webapi/agent/db/cert';

/**
 * Asks auth for a client certificate for `dbUser` on behalf of `user` on database `db` (auth verifies the forwarded
 * user certificate, locks, and the roles on the labels this agent heartbeats for `db`, and caps the lifetime at the
 * user's certificate). The private key stays here.
 */
export async function ephemeralClientCert(
  ctx: Pick<AgentPluginContext, 'call'>,
  user: VerifiedUser,
  dbUser: string,
  db: string,
): Promise<DbClientCert> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const answer = await ctx.call(
    'POST',
    PATH,
    { cert: user.certDer, db_user: dbUser, public_key: publicKey, db },
    (json) => parseAnswer(DbClientCertSchema, json, `POST ${PATH}`),
  );
  return { cert: answer.cert, key: privateKey, ca: answer.ca };
}
