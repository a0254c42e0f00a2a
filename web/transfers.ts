import { ApiError, csrfToken } from './api.ts';

/** Where a transfer goes: the server (host ID or name) and the login, as the terminal tab has them. */
export interface TransferTarget {
  node: string;
  login: string;
}

/** Bytes moved so far of a transfer's total (total 0 when unknown). */
export type Progress = (done: number, total: number) => void;

/** The proxy's JSON error answer as an ApiError; an answer of another type (a gateway's page) names its status. */
function errorOf(status: number, type: string | null, text: string): ApiError {
  if (!type?.startsWith('application/json')) return new ApiError(`the transfer failed (${status})`, status, 'internal');
  const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error ?? {};
  return new ApiError(e.message ?? `the transfer failed (${status})`, status, e.code ?? 'internal');
}

/**
 * Uploads one file into `dir` on the server (`~` is the login's home), reporting progress as the browser sends it;
 * resolves with the remote path written; `signal` cancels it (the proxy then removes what had arrived). XMLHttpRequest, because fetch reports no upload progress.
 */
export function uploadFile(
  t: TransferTarget,
  dir: string,
  file: File,
  progress: Progress,
  signal?: AbortSignal,
): Promise<string> {
  const q = new URLSearchParams({ node: t.node, login: t.login, dir, name: file.name });
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/webapi/ui/files/upload?${q}`);
    xhr.setRequestHeader('x-csrf-token', csrfToken());
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => progress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status !== 200) return reject(errorOf(xhr.status, xhr.getResponseHeader('content-type'), xhr.responseText));
      resolve(String((JSON.parse(xhr.responseText) as { path?: string }).path ?? file.name));
    };
    xhr.onerror = () => reject(new TypeError('the proxy could not be reached'));
    xhr.onabort = () => reject(new ApiError('cancelled', 0, 'cancelled'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}

/** The file name a download's Content-Disposition gives (its exact UTF-8 form when present). */
export function dispositionName(header: string | null, fallback: string): string {
  const exact = /filename\*=UTF-8''([^;]+)/i.exec(header ?? '');
  if (exact) {
    // Percent-decoded byte by byte: a malformed sequence becomes U+FFFD instead of an exception.
    const bytes = exact[1]!.replace(/%([0-9A-Fa-f]{2})|(.)/g, (_m, hex: string | undefined, c: string | undefined) =>
      hex ? String.fromCharCode(Number.parseInt(hex, 16)) : c!,
    );
    return new TextDecoder().decode(Uint8Array.from(bytes, (c) => c.charCodeAt(0) & 0xff));
  }
  return /filename="([^"]*)"/i.exec(header ?? '')?.[1] || fallback;
}

/**
 * Downloads a remote file, reporting progress as it arrives, and hands it to the browser's own download (a Save
 * link on an object URL); resolves with the file name saved.
 */
export async function downloadFile(
  t: TransferTarget,
  path: string,
  progress: Progress,
  signal?: AbortSignal,
): Promise<string> {
  const q = new URLSearchParams({ node: t.node, login: t.login, path });
  const res = await fetch(`/webapi/ui/files/download?${q}`, {
    headers: { 'x-csrf-token': csrfToken() },
    credentials: 'same-origin',
    signal,
  });
  if (!res.ok || !res.body) throw errorOf(res.status, res.headers.get('content-type'), await res.text());
  const total = Number(res.headers.get('content-length') ?? 0);
  const parts: Uint8Array[] = [];
  let done = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    parts.push(value);
    done += value.length;
    progress(done, total);
  }
  if (total && done !== total) throw new ApiError(`the download stopped after ${done} of ${total} bytes`, 0, 'unavailable');
  const name = dispositionName(res.headers.get('content-disposition'), path.split('/').pop() || 'download');
  const url = URL.createObjectURL(new Blob(parts as BlobPart[]));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // The browser has taken the file once the click is handled; the object URL can go after that.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}
