import type { WebLogin } from './accountWeb.ts';

/** The web terminal's file endpoints (core/proxy/webFiles.ts), as a test names them. */
export const UPLOAD = '/webapi/ui/files/upload';
export const DOWNLOAD = '/webapi/ui/files/download';

/** How a request departs from what the web UI sends: no cookie, another CSRF token, a foreign Origin. */
export interface Tamper {
  cookie?: string | null;
  csrf?: string | null;
  origin?: string | null;
}

/** Headers of a browser request from `base` for `session`, with `t` applied (null leaves a header out). */
function headers(base: string, session: WebLogin | undefined, t: Tamper = {}): Record<string, string> {
  const h: Record<string, string> = {};
  const cookie = t.cookie === undefined ? session?.cookie : t.cookie;
  const csrf = t.csrf === undefined ? session?.csrf : t.csrf;
  const origin = t.origin === undefined ? base : t.origin;
  if (cookie) h.cookie = cookie;
  if (csrf) h['x-csrf-token'] = csrf;
  if (origin) h.origin = origin;
  return h;
}

/** One answer: its status, headers, and the body as bytes. */
export interface FileAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The JSON error message, when the answer is one. */
  error?: string;
}

async function answer(res: Response): Promise<FileAnswer> {
  const body = Buffer.from(await res.arrayBuffer());
  let error: string | undefined;
  if (!res.ok && res.headers.get('content-type')?.startsWith('application/json'))
    error = (JSON.parse(body.toString()) as { error?: { message?: string } }).error?.message;
  return { status: res.status, headers: res.headers, body, error };
}

/** Uploads `data` as `name` into `dir` on `node` as `login`, the way the web UI does. */
export async function webUpload(
  base: string,
  session: WebLogin | undefined,
  q: { node: string; login: string; dir: string; name: string },
  data: Uint8Array,
  t?: Tamper,
): Promise<FileAnswer> {
  const res = await fetch(`${base}${UPLOAD}?${new URLSearchParams(q)}`, {
    method: 'POST',
    headers: { ...headers(base, session, t), 'content-type': 'application/octet-stream' },
    body: data,
    tls: { rejectUnauthorized: false },
  } as RequestInit);
  return answer(res);
}

/** Downloads `path` from `node` as `login`, the way the web UI does. */
export async function webDownload(
  base: string,
  session: WebLogin | undefined,
  q: { node: string; login: string; path: string },
  t?: Tamper,
): Promise<FileAnswer> {
  const res = await fetch(`${base}${DOWNLOAD}?${new URLSearchParams(q)}`, {
    headers: headers(base, session, t),
    tls: { rejectUnauthorized: false },
  } as RequestInit);
  return answer(res);
}
