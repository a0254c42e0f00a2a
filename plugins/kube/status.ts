// Refusals kubectl prints with tp's reason, the proxy's for a whole connection and the agent's for one request.
// client-go reads a failed discovery request (`/api`, `/apis`: kubectl's first requests on a fresh cache) as raw
// bytes, so a JSON `metav1.Status` there prints as "unknown"; a `text/plain` body is kept as the message on every
// request (client-go's unstructured-response path), under the reason the status code names: 403 `Error from server
// (Forbidden): tp: ...`, 5xx `an error on the server ("tp: ...")`. An upgrade (exec, port-forward) is the exception:
// client-go decodes its error body as a Status, so a refused upgrade gets the JSON one. A 401 makes kubectl ask its
// exec credential plugin again, so unauthenticated stays 401.
import type { ErrorCode, TpError } from '../../core/errors.ts';

/** The HTTP status of an error class, as kubectl should read it. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  access_denied: 403,
  // Kubernetes has no "locked": a locked user or cluster is forbidden, with the lock's message.
  locked: 403,
  // A cluster the user cannot reach: forbidden with tp's reason (a 404 prints as "could not find the requested
  // resource", which names no cluster).
  not_found: 403,
  unauthenticated: 401,
  bad_parameter: 400,
  limit_exceeded: 429,
  // The proxy could not reach the cluster's agent: a gateway error, whose text kubectl prints.
  unavailable: 502,
};

/** The HTTP status refusing a connection for an error of class `code`; 500 for a class without one. */
export function statusFor(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

const PHRASES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
};

/** The `metav1.Status` reason a status code names (what kubectl prints in `Error from server (<reason>)`). */
const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'TooManyRequests',
};

function respond(code: number, type: string, body: Buffer, close: boolean): Buffer {
  const head =
    `HTTP/1.1 ${code} ${PHRASES[code] ?? 'Error'}\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n` +
    `Cache-Control: no-cache, private\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/**
 * A complete HTTP/1.1 error response with `message` as its text body; with `close`, it says `Connection: close`
 * (the connection ends after it), else the connection carries on with the next request.
 */
export function errorResponse(code: number, message: string, close: boolean): Buffer {
  return respond(code, 'text/plain; charset=utf-8', Buffer.from(`${message}\n`), close);
}

/** The same error as a JSON `metav1.Status` body, for a refused upgrade request. */
export function statusResponse(code: number, message: string, close: boolean): Buffer {
  const reason = REASONS[code] ?? (code >= 500 ? 'InternalError' : 'Unknown');
  const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  return respond(code, 'application/json', Buffer.from(JSON.stringify(status)), close);
}

/**
 * The response refusing a whole connection for `err` (message `tp: <message>`), `Connection: close`: a Status when
 * its first request is an upgrade, else text.
 */
export function refusalResponse(err: TpError, upgrade = false): Buffer {
  return (upgrade ? statusResponse : errorResponse)(statusFor(err.code), `tp: ${err.message}`, true);
}
