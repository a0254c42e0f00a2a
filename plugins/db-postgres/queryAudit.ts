// Turns the client's queries into `db.query` fields: simple Query at once, the extended protocol at Execute with
// the statement its portal runs and the parameters bound to it. One event carries at most 32 KiB of text.
import { capText, MAX_EVENT_TEXT } from '../../core/audit/capText.ts';
import { BadParameter } from '../../core/errors.ts';
import { ByteReader } from '../../core/net/byteReader.ts';
import type { ClientEvent } from './clientFrames.ts';
import { type BindValue, bindParamFormat, type FrontendMessage } from './wire.ts';

/** What one `db.query` event says about the statement. */
export interface QueryFields {
  statement: string;
  /** Bound parameters (extended protocol): text as sent, binary as `\x` hex, SQL NULL as null. */
  parameters?: (string | null)[];
  /** Set when text was cut to fit the event (or parameters could not be kept). */
  truncated?: true;
}

interface Prepared {
  sql: string;
  truncated: boolean;
}

interface Portal {
  statement: Prepared;
  parameters?: (string | null)[];
  truncated: boolean;
}

/** Named statements and portals kept per session; past this the oldest are forgotten (their events say so). */
const MAX_NAMED = 1000;

function remember<T>(map: Map<string, T>, name: string, value: T): void {
  map.delete(name);
  map.set(name, value);
  if (map.size > MAX_NAMED) map.delete(map.keys().next().value as string);
}

function paramText(v: BindValue, format: number): string | null {
  if (v === null) return null;
  return format === 1 ? `\\x${v.toString('hex')}` : v.toString('utf8');
}

/** The parameters as text, cut to `budget` bytes in all. */
function boundParameters(values: BindValue[], formats: number[], budget: number) {
  const out: (string | null)[] = [];
  let left = budget;
  let truncated = false;
  for (let i = 0; i < values.length; i++) {
    const text = paramText(values[i]!, bindParamFormat(formats, i));
    if (text === null) {
      out.push(null);
      continue;
    }
    const cut = capText(text, Math.max(0, left));
    out.push(cut.text);
    left -= Buffer.byteLength(cut.text);
    truncated ||= cut.truncated;
  }
  return { parameters: out, truncated };
}

/** Reads NUL-terminated strings from the first bytes of a message too large to hold (the last may be cut). */
function prefixStrings(prefix: Buffer, n: number): string[] {
  const r = new ByteReader(prefix, (why) => new BadParameter(why));
  return Array.from({ length: n }, () => r.cstr({ orEnd: true }));
}

/** Follows one session's statements and portals; calls `emit` once per query the client runs. */
export class QueryAudit {
  private readonly statements = new Map<string, Prepared>();
  private readonly portals = new Map<string, Portal>();

  constructor(private readonly emit: (q: QueryFields) => void) {}

  /** Takes what the client framer saw. */
  observe(e: ClientEvent): void {
    const q = e.kind === 'large' ? this.large(e.code, e.prefix) : this.message(e.message);
    if (q) this.emit(q);
  }

  /** Follows one whole message; the query it runs, if it runs one. */
  private message(m: FrontendMessage): QueryFields | undefined {
    switch (m.type) {
      case 'Query': {
        const cut = capText(m.sql);
        return { statement: cut.text, ...(cut.truncated ? { truncated: true } : {}) };
      }
      case 'Parse': {
        const cut = capText(m.sql);
        remember(this.statements, m.statement, { sql: cut.text, truncated: cut.truncated });
        return undefined;
      }
      case 'Bind': {
        const statement = this.prepared(m.statement);
        const bound = boundParameters(m.values, m.paramFormats, MAX_EVENT_TEXT - Buffer.byteLength(statement.sql));
        const truncated = statement.truncated || bound.truncated;
        remember(this.portals, m.portal, { statement, parameters: bound.parameters, truncated });
        return undefined;
      }
      case 'Execute': {
        const p = this.portals.get(m.portal);
        if (!p) return { statement: `(portal "${m.portal}" is not known to tp's audit)`, truncated: true };
        return {
          statement: p.statement.sql,
          ...(p.parameters ? { parameters: p.parameters } : {}),
          ...(p.truncated ? { truncated: true } : {}),
        };
      }
      case 'Close':
        if (m.target === 'S') this.statements.delete(m.name);
        else this.portals.delete(m.name);
        return undefined;
      default:
        return undefined;
    }
  }

  private prepared(name: string): Prepared {
    return (
      this.statements.get(name) ?? { sql: `(prepared statement "${name}" is not known to tp's audit)`, truncated: true }
    );
  }

  /** A Query, Parse or Bind too large to hold: what its first bytes show, marked truncated. */
  private large(code: string, prefix: Buffer): QueryFields | undefined {
    if (code === 'Q') {
      const [sql] = prefixStrings(prefix, 1);
      return { statement: capText(sql!).text, truncated: true };
    }
    if (code === 'P') {
      const [name, sql] = prefixStrings(prefix, 2);
      remember(this.statements, name!, { sql: capText(sql!).text, truncated: true });
    }
    if (code === 'B') {
      const [portal, statement] = prefixStrings(prefix, 2);
      remember(this.portals, portal!, { statement: this.prepared(statement!), truncated: true });
    }
    return undefined;
  }
}
