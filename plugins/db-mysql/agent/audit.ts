/** The audit events of one MySQL session: start (or refusal), each statement, end. */

import { capText, MAX_EVENT_TEXT } from '../../../core/audit/capText.ts';
import type { AuditInput } from '../../../core/audit/events.ts';
import type { BoundParam } from '../wire.ts';

/** Who and where a session is, as every one of its events carries it. */
export interface SessionFields {
  /** The tp user. */
  user: string;
  session_id: string;
  'addr.remote': string;
  server_id: string;
  server_name: string;
  /** The database resource (the name `tp db connect` takes). */
  db_service: string;
  db_protocol: 'mysql';
  /** The server's address as configured. */
  db_uri: string;
  db_user?: string;
  db_name?: string;
}

/** The command a `db.query` event records. */
export type QueryCommand = 'COM_QUERY' | 'COM_STMT_PREPARE' | 'COM_STMT_EXECUTE' | 'COM_INIT_DB' | 'COM_CHANGE_USER';

/** A parameter as an event shows it: text (64-bit integers too, so JSON keeps every digit) or null. */
function paramText(p: BoundParam): string | null {
  return p.value === null ? null : String(p.value);
}

/**
 * Statement text and parameters fitted into one event's budget (32 KiB in all): the text is cut first at the
 * budget, then parameters are kept while they fit; `truncated` says anything was cut or left out.
 */
export function queryText(
  text: string,
  params: BoundParam[] | undefined,
  max = MAX_EVENT_TEXT,
): { statement: string; parameters?: (string | null)[]; truncated: boolean } {
  const q = capText(text, max);
  let truncated = q.truncated;
  if (!params) return { statement: q.text, truncated };
  let budget = max - Buffer.byteLength(q.text);
  const parameters: (string | null)[] = [];
  for (const p of params) {
    const t = paramText(p);
    if (t === null) {
      parameters.push(null);
      continue;
    }
    const c = capText(t, Math.max(0, budget));
    budget -= Buffer.byteLength(c.text);
    parameters.push(c.text);
    if (c.truncated) {
      truncated = true;
      break;
    }
  }
  return { statement: q.text, parameters, truncated };
}

/** Emits one session's events with its fields; `db_user`/`db_name` follow the session as they become known. */
export class SessionAudit {
  constructor(
    private readonly emit: (events: AuditInput[]) => void,
    readonly fields: SessionFields,
  ) {}

  /** `db.session.start`: success, or the refusal with its reason. */
  start(error?: string): void {
    this.emit([{ type: 'db.session.start', ...this.fields, success: !error, ...(error ? { error } : {}) }]);
  }

  /**
   * `db.query`: one statement (its parameters when it has them), a refused command with `error`, or an execute
   * whose parameters could not be read with `paramsError`.
   */
  query(
    command: QueryCommand,
    text: string,
    opts: { params?: BoundParam[]; error?: string; paramsError?: string } = {},
  ): void {
    const body = queryText(text, opts.params);
    this.emit([
      {
        type: 'db.query',
        ...this.fields,
        success: !opts.error,
        command,
        statement: body.statement,
        ...(body.parameters ? { parameters: body.parameters } : {}),
        ...(body.truncated ? { truncated: true } : {}),
        ...(opts.error ? { error: opts.error } : {}),
        ...(opts.paramsError ? { parameters_error: opts.paramsError } : {}),
      },
    ]);
  }

  /** `db.session.end`, with why it ended when it was not the client's choice. */
  end(reason?: string): void {
    this.emit([{ type: 'db.session.end', ...this.fields, ...(reason ? { reason } : {}) }]);
  }
}
