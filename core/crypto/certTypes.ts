// What tp reads from and writes into its X.509 certificates, shared by the reader and the issuer.

/** OID of tp's identity extension: JSON with logins, traits, route and the identity kind. */
export const IDENTITY_OID = '1.3.9999.7270.1';

/** The tp-specific part of an X.509 identity, carried in the IDENTITY_OID extension. */
export interface TlsIdentityExt {
  /** `app`: a user's certificate for one web app only (its `route` names the app; core/auth/appCert.ts). */
  kind: 'user' | 'app' | 'admin' | 'proxy' | 'node' | 'auth';
  logins?: string[];
  traits?: Record<string, string[]>;
  route?: Record<string, string>;
  /** A node's name, fixed by auth at join (node certificates only). */
  name?: string;
  /** A bot's certificate: which bot, which of its instances, and the renewal generation it was issued at. */
  bot?: BotCertInfo;
}

/** What a bot certificate says about the bot instance holding it. */
export interface BotCertInfo {
  name: string;
  instance: string;
  generation: number;
}

/** A parsed leaf as tp reads it. */
export interface ParsedTlsCert {
  commonName: string;
  organization: string[];
  identity: TlsIdentityExt;
  notBefore: Date;
  notAfter: Date;
  serial: string;
}
