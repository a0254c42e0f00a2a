import * as v from 'valibot';
import { LoginResponseSchema, PublicTokenSchema } from './schemas.ts';

/**
 * Wire schemas of the auth API's bot answers (`/v1/bots...`, and the joins through the proxy), shared by the
 * server and its clients. Like schemas.ts, this module imports nothing but valibot and schemas.ts.
 */

/** One instance of a bot as listed: never its keys. */
export const BotInstanceViewSchema = v.object({
  id: v.string(),
  generation: v.number(),
  createdAt: v.string(),
  renewedAt: v.string(),
  /** Set when the instance was locked (a certificate of an older generation tried to renew). */
  locked: v.optional(v.object({ at: v.string(), reason: v.string() })),
});

/** A bot as listed (`GET /v1/bots`). */
export const BotViewSchema = v.object({
  name: v.string(),
  /** The machine user it is (`bot-NAME`). */
  user: v.string(),
  roles: v.array(v.string()),
  logins: v.array(v.string()),
  maxTtlMs: v.number(),
  createdAt: v.string(),
  instances: v.array(BotInstanceViewSchema),
});
export type BotView = v.InferOutput<typeof BotViewSchema>;

/** A single-use bot join token, shown once (`POST /v1/bots/:name/tokens`). */
export const BotTokenSchema = v.object({
  token: v.string(),
  tokenExpires: v.string(),
  record: v.optional(PublicTokenSchema),
});

/** `POST /v1/bots`: the bot made and its first join token. */
export const CreatedBotSchema = v.object({ bot: BotViewSchema, ...BotTokenSchema.entries });

/** `POST /v1/bots/:name/lock`: the lock that stops every instance. */
export const BotLockSchema = v.object({ lockId: v.string() });

/** A bot's join, rejoin or renewal: its certificates, the CAs to trust, and the instance they belong to. */
export const BotCertsSchema = v.object({ ...LoginResponseSchema.entries, instance: v.string() });
export type BotCerts = v.InferOutput<typeof BotCertsSchema>;
