import * as v from 'valibot';
import type { WebSessionView } from '../core/api/webSchemas.ts';

/** An error the proxy answered with: its message is meant for people, its code for the UI. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

let csrf = '';

/** Remembers the session's CSRF token; every state-changing call sends it back in a header. */
export function setCsrf(token: string): void {
  csrf = token;
}

/** The session's CSRF token, for requests api() does not make (file transfers, which report progress). */
export function csrfToken(): string {
  return csrf;
}

/** Called when the server says the session is gone, so the app can return to the login page. */
let onExpired: (() => void) | undefined;
export function whenExpired(fn: () => void): void {
  onExpired = fn;
}

/**
 * Calls the proxy's web API with the session cookie; throws ApiError with the server's message on failure. The
 * answer is unknown: callers that read it use apiOf and a schema.
 */
export async function api(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : {};
  } catch (err) {
    throw new ApiError(`unexpected answer from the proxy (${res.status}): ${(err as Error).message}`, res.status, 'internal');
  }
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string } }).error ?? {};
    const err = new ApiError(e.message ?? `request failed (${res.status})`, res.status, e.code ?? 'internal');
    if (res.status === 401 && !path.startsWith('/webapi/sessions') && onExpired) onExpired();
    throw err;
  }
  return data;
}

/**
 * Like api, with the answer checked against the schema the proxy's answer type comes from (core/api/webSchemas.ts):
 * an answer of another shape is an ApiError, not a page that breaks later.
 */
export async function apiOf<S extends v.GenericSchema>(
  schema: S,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<v.InferOutput<S>> {
  const r = v.safeParse(schema, await api(method, path, body));
  if (r.success) return r.output;
  throw new ApiError(`unexpected answer from the proxy to ${method} ${path}: ${r.issues[0].message}`, 200, 'internal');
}

/** What the page knows of its session (the proxy's own type, core/api/webSchemas.ts). */
export type Session = WebSessionView;

/** A fresh factor sent with a change to the password or the second factors (the server says which it takes). */
export interface FreshProof {
  otp?: string;
  webauthn?: unknown;
  password?: string;
}

const VERBS: Record<string, string> = { list: 'listing', read: 'reading', create: 'creating', update: 'changing', delete: 'deleting' };
const NOUNS: Record<string, string> = { recording: 'session recordings', audit: 'the audit log', node: 'servers' };

/** A refusal or failure as a sentence for people: role refusals name the roles and the action, in words. */
export function readable(err: unknown): string {
  if (err instanceof ApiError) {
    const m = /^"(\w+)" on (\w+) is (?:not allowed by roles \[([^\]]*)\]|denied by role "([^"]+)")$/.exec(err.message);
    if (m) {
      const what = `${VERBS[m[1]!] ?? m[1]} ${NOUNS[m[2]!] ?? m[2]}`;
      return m[3] !== undefined
        ? `Your roles (${m[3]}) do not allow ${what}. Ask an admin if you need it.`
        : `Your role ${m[4]} denies ${what}. Ask an admin if you need it.`;
    }
    return sentence(err.message);
  }
  if (err instanceof TypeError) return 'The proxy could not be reached. Check the connection and try again.';
  return sentence(err instanceof Error ? err.message : String(err));
}

/** Starts with a capital and ends with a full stop. */
function sentence(text: string): string {
  const t = text.trim();
  if (!t) return 'Something went wrong.';
  const s = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?)]$/.test(s) ? s : `${s}.`;
}
