import { SsoBeginSchema } from '../api/ssoSchemas.ts';
import { ANSWER_PARAM, newAnswerKey, openAnswer, type SsoAnswer } from '../auth/sso/answer.ts';
import type { SsoOutcome } from '../auth/sso/identify.ts';
import { AccessDenied, errorFromWire, Unavailable } from '../errors.ts';
import { escapeHtml } from '../web/html.ts';
import { type IssuedCerts, newClientKeys, type ProxyTrust, pingProxy, saveLogin } from './login.ts';
import type { Profile } from './profile.ts';

export type { SsoOutcome };

/** What a command-line SSO login needs. */
export interface SsoLoginInput {
  proxy: string;
  connector: string;
  trust: ProxyTrust;
  /** `cli` logs in; `test` only shows what the provider returns and how it maps (`tp sso test`). */
  mode: 'cli' | 'test';
  ttlMs?: number;
  /** Called with the provider URL the user must open (printed, and opened in a browser when possible). */
  onUrl: (url: string) => void;
  /** How long to wait for the browser to come back. Default 3 minutes. */
  timeoutMs?: number;
}

const page = (title: string, text: string, status = 200) =>
  new Response(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body style="font:16px system-ui;margin:4rem auto;max-width:32rem"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>`,
    {
      status,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
        'referrer-policy': 'no-referrer',
      },
    },
  );

/**
 * Single sign-on from the command line: listens on a loopback port, has the proxy start the login at the
 * provider with a key made for this login, and waits for the browser to come back to the loopback port (after
 * the person confirmed on the proxy's page) with the answer sealed to that key. Only this process can open it;
 * anything else arriving on the port is ignored. The private keys never leave this machine.
 */
export async function ssoLogin(i: SsoLoginInput): Promise<{ profile?: Profile; outcome: SsoOutcome }> {
  const { api, ping } = await pingProxy(i.proxy, i.trust);
  const keys = i.mode === 'cli' ? newClientKeys() : undefined;
  const answerKey = newAnswerKey();
  let loginId: string | undefined;
  let finish!: (a: SsoAnswer<IssuedCerts>) => void;
  const answered = new Promise<SsoAnswer<IssuedCerts>>((resolve) => {
    finish = resolve;
  });
  let done = false;
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      if (req.method !== 'GET' || url.pathname !== '/callback') return new Response('not found', { status: 404 });
      if (done) return page('Already answered', 'This login has finished. Return to the terminal.', 409);
      const sealed = url.searchParams.get(ANSWER_PARAM);
      let answer: SsoAnswer<IssuedCerts>;
      try {
        if (!loginId || !sealed) throw new AccessDenied('no sealed answer');
        answer = openAnswer<IssuedCerts>(answerKey, loginId, sealed);
      } catch (err) {
        if (!(err instanceof AccessDenied)) throw err;
        return page('Not an answer for this login', 'tp is waiting for another sign-in; this one is ignored.', 400);
      }
      done = true;
      finish(answer);
      return answer.ok
        ? page('Signed in', 'You can close this tab and return to the terminal.')
        : page('Sign-in failed', `${answer.error.message}. Return to the terminal.`);
    },
  });
  try {
    const begun = await api.send(SsoBeginSchema, 'POST', '/webapi/sso/login', {
      connector: i.connector,
      mode: i.mode,
      sshPublicKey: keys?.sshPublicKey,
      tlsPublicKey: keys?.tlsPublicKey,
      ttlMs: i.ttlMs,
      clientRedirect: `http://127.0.0.1:${server.port}/callback`,
      clientKey: answerKey.publicKey,
    });
    loginId = begun.id;
    i.onUrl(begun.url);
    const timeoutMs = i.timeoutMs ?? 180_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answer = await Promise.race([
      answered,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Unavailable(
                `no answer from the browser within ${Math.round(timeoutMs / 1000)}s; run the login again`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (!answer.ok) throw errorFromWire(answer.error.code, answer.error.message);
    if (i.mode === 'test' || !keys || !answer.certs) return { outcome: answer.outcome };
    return { outcome: answer.outcome, profile: saveLogin(i.proxy, i.trust, ping, keys, answer.certs) };
  } finally {
    // Graceful: the page telling the user to return to the terminal is still being sent.
    await server.stop();
  }
}
