import { randomBytes, randomUUID } from 'node:crypto';

/** Identifiers and secrets enter tp through an IdSource, as time enters through a Clock (STYLE.md rule 7). */
export interface IdSource {
  /** A fresh random UUID (v4). */
  uuid(): string;
  /** `n` fresh random bytes from a cryptographically secure source. */
  bytes(n: number): Buffer;
}

/** The platform's cryptographic randomness. */
export const cryptoIds: IdSource = { uuid: () => randomUUID(), bytes: (n) => randomBytes(n) };
