import { createHash, randomBytes } from 'node:crypto';
import { AccessDenied, Unavailable } from '../errors.ts';
import { escapeHtml } from '../web/html.ts';
import { type IssuedCerts, newClientKeys, type ProxyTrust, pingProxy, saveLogin } from './login.ts';
import type { Profile } from './profile.ts';

/** What the provider said about the user and the roles the connector's mapping gave them. */
export interface SsoOutcome {
  username: string;
  roles: string[];
  identity: Record<string, unknown>;
}

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

const page = (title: string, text: string) =>
  new Response(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body style="font:16px system-ui;margin:4rem auto;max-width:32rem"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>`,
    {
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
        'referrer-policy': 'no-referrer',
      },
    },
  );

/**
 * Single sign-on from the command line: listens on a loopback port, has the proxy start the login at the
 * provider, waits for the browser to come back to the loopback port, then collects the certificates with a
 * secret only this process knows. The private keys never leave this machine.
 */
export async function ssoLogin(i: SsoLoginInput): Promise<{ profile?: Profile; outcome: SsoOutcome }> {
  const { api, ping } = await pingProxy(i.proxy, i.trust);
  const keys = i.mode === 'cli' ? newClientKeys() : undefined;
  const secret = randomBytes(32).toString('base64url');
  let finish!: (r: { id?: string; error?: string }) => void;
  const returned = new Promise<{ id?: string; error?: string }>((resolve) => {
    finish = resolve;
  });
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname !== '/callback') return new Response('not found', { status: 404 });
      const error = url.searchParams.get('error') ?? undefined;
      const id = url.searchParams.get('id') ?? undefined;
      finish({ id, error });
      return error
        ? page('Sign-in failed', `${error}. Return to the terminal.`)
        : page('Signed in', 'You can close this tab and return to the terminal.');
    },
  });
  try {
    const begun = await api.post<{ id: string; url: string }>('/webapi/sso/login', {
      connector: i.connector,
      mode: i.mode,
      sshPublicKey: keys?.sshPublicKey,
      tlsPublicKey: keys?.tlsPublicKey,
      ttlMs: i.ttlMs,
      clientRedirect: `http://127.0.0.1:${server.port}/callback`,
      secretHash: createHash('sha256').update(secret).digest('hex'),
    });
    i.onUrl(begun.url);
    const timeoutMs = i.timeoutMs ?? 180_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const back = await Promise.race([
      returned,
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
    if (back.error) throw new AccessDenied(back.error);
    if (back.id !== begun.id)
      throw new AccessDenied('the browser came back from a different login; run the login again');
    const r = await api.post<{ outcome: SsoOutcome; certs?: IssuedCerts }>('/webapi/sso/result', {
      id: begun.id,
      secret,
    });
    if (i.mode === 'test' || !keys || !r.certs) return { outcome: r.outcome };
    return { outcome: r.outcome, profile: saveLogin(i.proxy, i.trust, ping, keys, r.certs) };
  } finally {
    // Graceful: the page telling the user to return to the terminal is still being sent.
    await server.stop();
  }
}
