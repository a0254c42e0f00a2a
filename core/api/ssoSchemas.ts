import * as v from 'valibot';

/**
 * Wire schemas of the single sign-on answers: connectors as the auth API lists them, and the steps of an SSO login
 * (auth API and the proxy's /webapi/sso routes). Like schemas.ts, this module imports nothing but valibot.
 */

/** GitHub team → roles: members of ORG/TEAM get ROLES. */
const TeamMappingSchema = v.object({ org: v.string(), team: v.string(), roles: v.array(v.string()) });

/** OIDC claim → roles: an ID token whose CLAIM equals (or, for a list claim, contains) VALUE gets ROLES. */
const ClaimMappingSchema = v.object({ claim: v.string(), value: v.string(), roles: v.array(v.string()) });

/** A connector as anyone allowed to list them sees it (`GET /v1/sso/connectors`): everything but the secret. */
export const PublicConnectorSchema = v.variant('kind', [
  v.object({
    kind: v.literal('github'),
    name: v.string(),
    clientId: v.string(),
    endpointUrl: v.string(),
    apiUrl: v.string(),
    teamsToRoles: v.array(TeamMappingSchema),
    createdAt: v.string(),
    hasSecret: v.boolean(),
  }),
  v.object({
    kind: v.literal('oidc'),
    name: v.string(),
    clientId: v.string(),
    issuer: v.string(),
    claimsToRoles: v.array(ClaimMappingSchema),
    scopes: v.array(v.string()),
    usernameClaim: v.optional(v.string()),
    createdAt: v.string(),
    hasSecret: v.boolean(),
  }),
]);
export type PublicConnector = v.InferOutput<typeof PublicConnectorSchema>;

/** `GET /v1/sso/connectors/:name/check`: the provider answered, and what it said in words. */
export const ConnectorCheckSchema = v.object({ ok: v.literal(true), detail: v.string() });

/** An SSO login begun (`POST /v1/sso/begin`, `/webapi/sso/login`): its ID and the provider URL to open. */
export const SsoBeginSchema = v.object({ id: v.string(), url: v.string() });

/** `POST /v1/sso/confirm`: where the browser goes next. */
export const SsoConfirmSchema = v.object({ redirect: v.string() });

/** What the person confirms in the browser before a command-line login's answer goes to its client. */
export const SsoConfirmationSchema = v.object({
  id: v.string(),
  /** The per-login value the confirmation page posts back (auth keeps only its hash). */
  token: v.string(),
  mode: v.picklist(['cli', 'test']),
  cluster: v.string(),
  connector: v.string(),
  clientRedirect: v.string(),
  username: v.string(),
  roles: v.array(v.string()),
});

/** The certificates a web SSO login issues, as the proxy keeps them in the browser's session. */
const WebLoginCertsSchema = v.object({
  username: v.string(),
  logins: v.array(v.string()),
  sshCert: v.string(),
  tlsCert: v.string(),
  expires: v.string(),
});

/**
 * `POST /v1/sso/callback` (proxies only): a web login's certificates and key, a command-line login to confirm, or
 * why it failed (a failed command-line login carries where to send the sealed reason).
 */
export const SsoCallbackSchema = v.union([
  v.object({ ok: v.literal(true), mode: v.literal('web'), certs: WebLoginCertsSchema, webKey: v.string() }),
  v.object({ ok: v.literal(true), mode: v.picklist(['cli', 'test']), confirm: SsoConfirmationSchema }),
  v.object({
    ok: v.literal(false),
    mode: v.string(),
    error: v.object({ message: v.string() }),
    redirect: v.optional(v.string()),
  }),
]);
