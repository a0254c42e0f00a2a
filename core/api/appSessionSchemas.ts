// Wire shapes of app sessions (issue 20): a browser's login to one web app, kept by auth beside the web session it
// was made from, so every proxy knows it and it ends with that web session.
import * as v from 'valibot';

const Hex64 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'a SHA-256 hex digest'));
const Name = v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'a resource name'));

/** `POST /v1/app_sessions/<token hash>`: a proxy asks auth for an app session bound to a live web session. */
export const AppSessionCreateSchema = v.strictObject({
  /** The hash of the web session's cookie token it is made from. */
  webSession: Hex64,
  app: Name,
  /** The host the app session's cookie lives on. */
  publicAddr: v.pipe(v.string(), v.regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'a host name')),
  /** The hash of the launch's state (the value of the state cookie on the app host). */
  stateHash: Hex64,
  /** The app session's ID (audit `session_id`). */
  id: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
});
export type AppSessionCreate = v.InferOutput<typeof AppSessionCreateSchema>;

/** `POST /v1/app_sessions/<token hash>/activate`: the app host hands the launch's state back, once. */
export const AppSessionActivateSchema = v.strictObject({ stateHash: Hex64 });

/** An app session as auth keeps it and answers it to proxies (it holds the user's certificate: proxies only). */
export const StoredAppSessionSchema = v.object({
  id: v.string(),
  app: v.string(),
  publicAddr: v.string(),
  user: v.string(),
  /** The web session's roles and traits (its certificate's), for the proxy's gate on each new stream. */
  roles: v.array(v.string()),
  traits: v.record(v.string(), v.array(v.string())),
  webSession: v.string(),
  /** The web session's user certificate (base64 DER): what the agent verifies for every stream. */
  tlsCertDer: v.string(),
  createdAt: v.number(),
  /** Epoch ms: the web session's (and so its certificate's) end. */
  expires: v.number(),
  stateHash: v.string(),
  /** Set once the app host took the launch's state: only then is the session usable, and never activated twice. */
  activated: v.boolean(),
});
export type StoredAppSession = v.InferOutput<typeof StoredAppSessionSchema>;
