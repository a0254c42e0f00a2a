import * as v from 'valibot';

/**
 * Wire schemas of the auth API's answers, shared by the server (what it promises) and every client (what it
 * parses). This module imports nothing but valibot, so the browser build can use it too.
 */

/** The three cluster CAs. */
export const CaTypeSchema = v.picklist(['user', 'host', 'tls']);

/** The public side of a CA, safe to hand to anyone (`GET /v1/cas/:type`). */
export const PublicCaSchema = v.object({
  type: CaTypeSchema,
  cluster: v.string(),
  /** SSH CAs: authorized_keys lines (active first). */
  sshKeys: v.array(v.string()),
  /** TLS CA: PEM certificates (active first). */
  tlsCerts: v.array(v.string()),
});
export type PublicCa = v.InferOutput<typeof PublicCaSchema>;
