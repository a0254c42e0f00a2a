import * as v from 'valibot';
import { ListedResourceSchema } from './resourceSchemas.ts';
import { NodeRecordSchema } from './schemas.ts';

/**
 * Wire schemas of the proxy's web API (/webapi/...), shared by the proxy (the types its answers have) and the
 * browser app (which parses them). Like schemas.ts, this module imports nothing but valibot.
 */

/** `GET /webapi/ping`: what the proxy says about itself before login. */
export const ProxyPingSchema = v.object({
  cluster: v.string(),
  secondFactor: v.picklist(['off', 'otp', 'webauthn', 'on']),
  proxy: v.string(),
  sshJump: v.optional(v.string()),
  version: v.string(),
  /** The proxy's HTTPS certificate comes from the cluster's own CA (new users pass --insecure or --ca-cert). */
  ownCa: v.optional(v.boolean()),
});
export type ProxyPing = v.InferOutput<typeof ProxyPingSchema>;

/** `GET /webapi/cas`: the cluster's CAs to trust (old and new during a rotation), for anyone. */
export const ProxyCasSchema = v.object({
  cluster: v.string(),
  userCa: v.array(v.string()),
  hostCa: v.array(v.string()),
  tlsCa: v.array(v.string()),
});

/** What the page learns about its session: never a certificate or key. */
export const WebSessionViewSchema = v.object({
  user: v.string(),
  roles: v.array(v.string()),
  logins: v.array(v.string()),
  /** Why the roles grant no login, when `logins` is empty (a sentence for people). */
  noLogins: v.optional(v.string()),
  csrf: v.string(),
  expires: v.string(),
  /** Which pages the user's roles open (absent from an older proxy: show them all). */
  pages: v.optional(
    v.object({
      recordings: v.boolean(),
      audit: v.boolean(),
      databases: v.optional(v.boolean()),
      kube: v.optional(v.boolean()),
      apps: v.optional(v.boolean()),
      desktops: v.optional(v.boolean()),
    }),
  ),
});
export type WebSessionView = v.InferOutput<typeof WebSessionViewSchema>;

/** `GET /webapi/sessions/current`: the session, or that there is none. */
export const CurrentSessionSchema = v.variant('loggedIn', [
  v.object({ loggedIn: v.literal(true), ...WebSessionViewSchema.entries }),
  v.object({ loggedIn: v.literal(false) }),
]);

/** A node as `GET /webapi/nodes` lists it: the record and whether it is reachable now. */
export const OnlineNodeSchema = v.object({ ...NodeRecordSchema.entries, online: v.boolean() });
export type OnlineNode = v.InferOutput<typeof OnlineNodeSchema>;
/** `GET /webapi/nodes`: the nodes the caller may reach, by name. */
export const OnlineNodesSchema = v.array(OnlineNodeSchema);

/** A node as the web UI lists it: the record, whether it is reachable now, and the logins the user's roles grant. */
export const NodeRowSchema = v.object({
  ...NodeRecordSchema.entries,
  online: v.boolean(),
  logins: v.array(v.string()),
});
export type NodeRow = v.InferOutput<typeof NodeRowSchema>;

/** One page of a searched, sorted resource list (`GET /webapi/ui/nodes`). */
export function pageSchema<T extends v.GenericSchema>(item: T) {
  return v.object({ items: v.array(item), total: v.number(), offset: v.number(), limit: v.number() });
}
/** One page of rows of type T. */
export interface Page<T> {
  items: T[];
  total: number;
  offset: number;
  limit: number;
}

/** `GET /webapi/ui/nodes`. */
export const NodePageSchema = pageSchema(NodeRowSchema);

/** A row of the web UI's list of a plugin kind's resources (databases ...): `logins` are its principals (db users). */
export const ResourceRowSchema = v.object({ ...ListedResourceSchema.entries, logins: v.array(v.string()) });
export type ResourceRow = v.InferOutput<typeof ResourceRowSchema>;
/** `GET /webapi/ui/resources/:kind` (`/webapi/ui/resources/db`). */
export const ResourcePageSchema = pageSchema(ResourceRowSchema);

/** `GET /webapi/sso/connectors`: the SSO buttons of the login page. */
export const SsoChoicesSchema = v.array(v.object({ name: v.string(), kind: v.string() }));

/** `POST /webapi/signup/info`: whose sign-up link it is, and the second factor to enrol (with a TOTP offer). */
export const SignupInfoSchema = v.object({
  user: v.string(),
  secondFactor: v.picklist(['off', 'otp', 'webauthn', 'on']),
  totp: v.optional(v.object({ secret: v.string(), uri: v.string() })),
});
export type SignupInfo = v.InferOutput<typeof SignupInfoSchema>;

/** `POST /webapi/signup`: the user the link made. */
export const SignupDoneSchema = v.object({ user: v.string() });

/** `GET /webapi/ui/account`: the user's own account, never a secret (only what each factor is called). */
export const AccountViewSchema = v.object({
  name: v.string(),
  roles: v.array(v.string()),
  logins: v.array(v.string()),
  hasPassword: v.boolean(),
  sso: v.optional(v.string()),
  secondFactor: v.string(),
  devices: v.array(
    v.object({
      id: v.string(),
      kind: v.picklist(['totp', 'webauthn']),
      name: v.string(),
      addedAt: v.optional(v.string()),
    }),
  ),
  /** What a change to the password or the factors asks for. */
  confirmWith: v.array(v.picklist(['otp', 'webauthn', 'password'])),
});
export type AccountView = v.InferOutput<typeof AccountViewSchema>;

/** `POST /webapi/ui/account/totp/begin`: a new authenticator-app secret to enrol, and its otpauth:// URI. */
export const TotpOfferSchema = v.object({ secret: v.string(), uri: v.string() });
