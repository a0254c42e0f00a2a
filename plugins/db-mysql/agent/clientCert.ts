/** The short-lived certificate the agent logs in to a database with, signed by the cluster's db client CA. */

import { parseAnswer } from '../../../core/api/client.ts';
import { DbClientCertSchema } from '../../../core/api/schemas.ts';
import { generateKeyPair } from '../../../core/crypto/keys.ts';
import type { AgentPluginContext, VerifiedUser } from '../../../core/plugin/types.ts';

/** A client certificate with its private key, and the CA certificates to verify the database server with. */
export interface DbClientCert {
  cert: string;
  key: string;
  ca: string[];
}

const PATH = '/webapi/agent/db/cert';

/**
 * Makes a fresh key and asks auth to certify it for `dbUser` on database `db` on behalf of `user` (auth checks the
 * forwarded user certificate, locks, and the roles on the labels this agent heartbeats for `db`, and caps the new
 * certificate at the user's expiry). The private key never leaves this process.
 */
export async function dbClientCert(
  ctx: Pick<AgentPluginContext, 'call'>,
  user: VerifiedUser,
  dbUser: string,
  db: string,
): Promise<DbClientCert> {
  const pair = generateKeyPair('p256');
  const publicKey = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const answer = await ctx.call(
    'POST',
    PATH,
    { cert: user.certDer, db_user: dbUser, public_key: publicKey, db },
    (json) => parseAnswer(DbClientCertSchema, json, `POST ${PATH}`),
  );
  return { cert: answer.cert, key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), ca: answer.ca };
}
