import * as v from 'valibot';
import { AllowRuleSchema, JoinMethodSchema } from '../../api/joinMethodSchemas.ts';
import { parseBody } from '../../web/json.ts';
import type { Route } from '../../web/router.ts';
import { SpkiPem, SshKey, Ttl } from '../fieldSchemas.ts';
import type { Identity } from '../identity.ts';
import type { CiJoinOps } from './ops.ts';

const Jwt = v.pipe(v.string(), v.maxLength(16_384));

const AddBody = v.strictObject({
  name: JoinMethodSchema.entries.name,
  method: JoinMethodSchema.entries.method,
  bot: v.pipe(v.string(), v.maxLength(59)),
  issuer: v.optional(v.pipe(v.string(), v.url(), v.maxLength(512))),
  audience: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(256))),
  jwks: v.optional(v.pipe(v.string(), v.maxLength(65_536))),
  allow: v.pipe(v.array(AllowRuleSchema), v.minLength(1, 'give at least one --allow rule'), v.maxLength(64)),
});

const JoinBody = v.strictObject({
  method: v.pipe(v.string(), v.maxLength(64)),
  idToken: Jwt,
  sshPublicKey: SshKey,
  tlsPublicKey: SpkiPem,
  ttlMs: v.optional(Ttl),
  remoteAddr: v.optional(v.pipe(v.string(), v.maxLength(300))),
});

/** The auth API routes of secretless joins: join methods (admins), their test, and the CI job's join (anonymous). */
export function ciJoinRoutes(ops: CiJoinOps): Route<Identity>[] {
  return [
    ['GET', /^\/v1\/join-methods$/, async ({ who }) => ops.list(who)],
    ['POST', /^\/v1\/join-methods$/, async ({ who, body }) => ops.add(who, parseBody(AddBody, body))],
    [
      'DELETE',
      /^\/v1\/join-methods\/([^/]+)$/,
      async ({ who, params }) => ops.remove(who, params[0]!).then(() => ({ deleted: params[0] })),
    ],
    [
      'POST',
      /^\/v1\/join-methods\/([^/]+)\/test$/,
      async ({ who, params, body }) =>
        ops.test(who, params[0]!, parseBody(v.strictObject({ idToken: Jwt }), body).idToken),
    ],
    [
      'POST',
      /^\/v1\/bots\/join\/id-token$/,
      async ({ body, remote }) => {
        const b = parseBody(JoinBody, body);
        return ops.join({ ...b, remoteAddr: b.remoteAddr ?? remote });
      },
    ],
  ];
}
