import { newSealKey, openSealed, type SealKey, seal } from '../../crypto/sealedBox.ts';
import type { SsoOutcome } from './identify.ts';

/**
 * The answer to a command-line SSO login (`tp login --auth`, `tp sso test`), as it travels: sealed to the key
 * the client made for the login and handed to the browser in its redirect to the client's loopback listener. The
 * server never keeps it and no route serves it: only the machine where the client listens receives it, and only
 * the client that holds the key reads it.
 */
export type SsoAnswer<Certs = unknown> =
  | { ok: true; outcome: SsoOutcome; certs?: Certs }
  | { ok: false; error: { code: string; message: string } };

/** The query parameter of the loopback redirect that carries the sealed answer. */
export const ANSWER_PARAM = 'response';

const context = (loginId: string) => `tp sso login ${loginId}`;

/** The key a client makes for one login; its public half goes with the login's start. */
export const newAnswerKey = newSealKey;

/** The client's loopback URL carrying `answer` sealed to `clientKey` for the login `loginId`. */
export function answerRedirect(clientRedirect: string, clientKey: string, loginId: string, answer: SsoAnswer): string {
  const to = new URL(clientRedirect);
  to.searchParams.set(ANSWER_PARAM, seal(clientKey, JSON.stringify(answer), context(loginId)));
  return to.toString();
}

/** The answer in a loopback request's sealed parameter; AccessDenied when it was not sealed for this key and login. */
export function openAnswer<Certs>(key: SealKey, loginId: string, sealed: string): SsoAnswer<Certs> {
  return JSON.parse(openSealed(key, sealed, context(loginId))) as SsoAnswer<Certs>;
}
