/** The short-lived certificate the agent logs in to a database with, signed by the cluster's db client CA. */

import * as v from 'valibot';
import { generateKeyPair } from '../../../core/crypto/keys.ts';
import type { AgentPluginContext, VerifiedUser } from '../../../core/plugin/types.ts';

/** What auth answers `POST /webapi/agent/db/cert`: the new certificate and the CA that signs database servers. */
const DbCertAnswer = v.object({
  cert: v.pipe(v.string(), v.includes('-----BEGIN CERTIFICATE-----')),
  ca: v.union([v.string(), v.array(v.string())]),
});

/** A client certificate with its private key, and the CA certificates to verify the database server with. */
export interface DbClientCert {
  cert: string;
  key: string;
  ca: string[];
}

/**
 * Makes a fresh key and asks auth to certify it for `dbUser` on behalf of `user` (auth checks the forwarded user
 * certificate and caps the new one at its expiry). The private key never leaves this process.
 */
export async function dbClientCert(
  ctx: Pick<AgentPluginContext, 'call'>,
  user: VerifiedUser,
  dbUser: string,
): Promise<DbClientCert> {
  const pair = generateKeyPair('p256');
  const publicKey = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const answer = await ctx.call(
    'POST',
    '/webapi/agent/db/cert',
    { cert: user.certDer, db_user: dbUser, public_key: publicKey },
    (json) => v.parse(DbCertAnswer, json),
  );
  return {
    cert: answer.cert,
    key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    ca: Array.isArray(answer.ca) ? answer.ca : [answer.ca],
  };
}
