import { expect } from 'bun:test';

/** One answer of the proxy's web API: status and parsed JSON body. */
export type WebAnswer = { status: number; body: Record<string, unknown> & { error?: { message: string } } };

/** A browser session as the web API sees it: the cookie and the CSRF token to send with every change. */
export interface WebLogin {
  cookie: string;
  csrf: string;
}

/** Calls the proxy's web API at `base` as a browser would (JSON, optional session cookie and CSRF header). */
export async function webCall(
  base: string,
  method: string,
  path: string,
  o: { body?: unknown; session?: WebLogin } = {},
): Promise<WebAnswer & { setCookie?: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.session) {
    headers.cookie = o.session.cookie;
    headers['x-csrf-token'] = o.session.csrf;
  }
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
    tls: { rejectUnauthorized: false },
  } as RequestInit);
  return {
    status: res.status,
    body: (await res.json()) as WebAnswer['body'],
    setCookie: res.headers.get('set-cookie') ?? undefined,
  };
}

/** Logs in on the web API (password, and a TOTP code when given); returns the answer and, on success, the session. */
export async function webLogin(
  base: string,
  creds: { username: string; password: string; otp?: string },
): Promise<WebAnswer & { session?: WebLogin }> {
  const r = await webCall(base, 'POST', '/webapi/sessions', { body: creds });
  if (r.status !== 200) return r;
  expect(r.setCookie).toBeDefined();
  return { ...r, session: { cookie: r.setCookie!.split(';')[0]!, csrf: String(r.body.csrf) } };
}
