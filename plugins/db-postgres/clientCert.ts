// The ephemeral client certificate the agent presents to the database: a fresh key per session, signed by the
// cluster's db client CA through auth, CN = the database user, valid no longer than the user's own certificate.
import { generateKeyPairSync } from 'node:crypto';
import * as v from 'valibot';
import { pemList } from '../../core/crypto/pem.ts';
import { BadParameter } from '../../core/errors.ts';
import type { AgentPluginContext, VerifiedUser } from '../../core/plugin/types.ts';

/** A certificate with its private key (PEM), and the db CA bundle that signs database servers' certificates. */
export interface DbClientCert {
  cert: string;
  key: string;
  ca: string[];
}

/** Auth's answer to `POST /webapi/agent/db/cert`. */
const CertAnswer = v.object({
  cert: v.pipe(v.string(), v.minLength(1)),
  ca: v.union([v.pipe(v.string(), v.minLength(1)), v.array(v.string())]),
});

function parseAnswer(json: unknown): v.InferOutput<typeof CertAnswer> {
  const r = v.safeParse(CertAnswer, json);
  if (!r.success) throw new BadParameter(`auth answered the db certificate request with an unexpected shape`);
  return r.output;
}

/**
 * Asks auth for a client certificate for `dbUser` on behalf of `user` (auth verifies the forwarded user certificate
 * and the roles again, and caps the lifetime at it). The private key never leaves this process.
 */
export async function ephemeralClientCert(
  ctx: Pick<AgentPluginContext, 'call'>,
  user: VerifiedUser,
  dbUser: string,
): Promise<DbClientCert> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const answer = await ctx.call(
    'POST',
    '/webapi/agent/db/cert',
    { cert: user.certDer, db_user: dbUser, public_key: publicKey },
    parseAnswer,
  );
  return { cert: answer.cert, key: privateKey, ca: pemList(answer.ca) };
}
