import * as v from 'valibot';
import { parseBody } from '../web/json.ts';
import type { Route } from '../web/router.ts';
import type { BotIdentityOps } from './botIdentityOps.ts';
import type { BotOps } from './botOps.ts';
import { checkBotName } from './botOps.ts';
import { Login, Name, SpkiPem, SshKey, Ttl } from './fieldSchemas.ts';
import type { Identity } from './identity.ts';

const BotName = v.pipe(Name, v.maxLength(59));

const AddBotBody = v.strictObject({
  name: BotName,
  roles: v.pipe(v.array(Name), v.minLength(1, 'a bot needs at least one role (--roles)')),
  logins: v.optional(v.array(Login)),
  ttlMs: v.optional(Ttl),
  tokenTtlMs: v.optional(Ttl),
  rejoinBudget: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1000))),
});

const Keys = {
  sshPublicKey: SshKey,
  tlsPublicKey: SpkiPem,
  ttlMs: v.optional(Ttl),
};

const BotJoinBody = v.strictObject({
  token: v.pipe(v.string(), v.maxLength(256)),
  ...Keys,
  remoteAddr: v.optional(v.pipe(v.string(), v.maxLength(300))),
});
const BotRenewBody = v.strictObject(Keys);
const BotRejoinBody = v.strictObject({
  bot: v.pipe(v.string(), v.maxLength(64)),
  instance: v.pipe(v.string(), v.regex(/^[0-9a-f-]{36}$/, 'not an instance ID')),
  generation: v.pipe(v.number(), v.integer(), v.minValue(1)),
  signature: v.pipe(v.string(), v.maxLength(1024)),
  ...Keys,
  remoteAddr: v.optional(v.pipe(v.string(), v.maxLength(300))),
});
const BotTokenBody = v.strictObject({ ttlMs: v.optional(Ttl) });
const LockBotBody = v.strictObject({ message: v.optional(v.pipe(v.string(), v.maxLength(1024)), '') });

/** The auth API routes of bots: admin management, the token join (anonymous) and renewal (the bot's own cert). */
export function botRoutes(bots: BotOps, ids: BotIdentityOps): Route<Identity>[] {
  return [
    ['GET', /^\/v1\/bots$/, async ({ who }) => bots.list(who)],
    [
      'POST',
      /^\/v1\/bots$/,
      async ({ who, body }) => {
        const b = parseBody(AddBotBody, body);
        checkBotName(b.name);
        return bots.add(who, b);
      },
    ],
    [
      'POST',
      /^\/v1\/bots\/join$/,
      async ({ body, remote }) => {
        const b = parseBody(BotJoinBody, body);
        return ids.join({ ...b, remoteAddr: b.remoteAddr ?? remote });
      },
    ],
    [
      'POST',
      /^\/v1\/bots\/rejoin$/,
      async ({ body, remote }) => {
        const b = parseBody(BotRejoinBody, body);
        return ids.rejoin({ ...b, remoteAddr: b.remoteAddr ?? remote });
      },
    ],
    ['POST', /^\/v1\/bots\/renew$/, async ({ who, body }) => ids.renew(who, parseBody(BotRenewBody, body))],
    [
      'DELETE',
      /^\/v1\/bots\/([^/]+)$/,
      async ({ who, params }) => bots.remove(who, params[0]!).then(() => ({ deleted: params[0] })),
    ],
    [
      'POST',
      /^\/v1\/bots\/([^/]+)\/tokens$/,
      async ({ who, params, body }) => bots.newToken(who, params[0]!, parseBody(BotTokenBody, body).ttlMs),
    ],
    [
      'POST',
      /^\/v1\/bots\/([^/]+)\/lock$/,
      async ({ who, params, body }) => bots.lock(who, params[0]!, parseBody(LockBotBody, body).message),
    ],
  ];
}
