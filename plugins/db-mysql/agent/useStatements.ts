/** Finds the `USE db` statements in a COM_QUERY text, so the agent can check them like COM_INIT_DB. */

const SPACE = /\s/;
const WORD = /[\p{L}\p{N}_$]/u;

/**
 * Scans MySQL statement text for the statements that change the default database. Strings ('..', "..") and
 * comments (`--  `, `#`, `/* *\/`) are skipped; MariaDB's executable comments (`/*! ... *\/`, `/*M! ... *\/`) are
 * read as code, as the server runs them. Returns each named database, unquoted, in order.
 */
export function useTargets(sql: string): string[] {
  const out: string[] = [];
  let i = 0;
  let atStart = true;
  let execComments = 0; // open executable comments: their `*/` is just a separator
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const rest = (k: number) => sql.slice(i, i + k);
    if (SPACE.test(c)) {
      i++;
    } else if (c === '#' || (rest(2) === '--' && (i + 2 >= n || SPACE.test(sql[i + 2]!)))) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (rest(2) === '/*') {
      const exec = /^\/\*(?:M?!)(\d{5,6})?/.exec(sql.slice(i, i + 10));
      if (exec) {
        execComments++;
        i += exec[0].length;
      } else {
        const end = sql.indexOf('*/', i + 2);
        i = end < 0 ? n : end + 2;
      }
    } else if (execComments > 0 && rest(2) === '*/') {
      execComments--;
      i += 2;
    } else if (c === ';') {
      atStart = true;
      i++;
    } else if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(sql, i);
      atStart = false;
    } else if (atStart && /^use$/i.test(rest(3)) && !WORD.test(sql[i + 3] ?? '')) {
      const target = readIdentifier(sql, skipBlank(sql, i + 3));
      if (target.name) out.push(target.name);
      i = target.end;
      atStart = false;
    } else {
      atStart = false;
      i++;
    }
  }
  return out;
}

/** The index just past a quoted string or identifier starting at `i` (a doubled quote or backslash escapes). */
function skipQuoted(sql: string, i: number): number {
  const q = sql[i]!;
  let j = i + 1;
  while (j < sql.length) {
    if (sql[j] === '\\' && q !== '`') j += 2;
    else if (sql[j] === q && sql[j + 1] === q) j += 2;
    else if (sql[j] === q) return j + 1;
    else j++;
  }
  return j;
}

/** Skips spaces and plain comments (`USE /* x *\/ db` is valid). */
function skipBlank(sql: string, i: number): number {
  for (;;) {
    if (i < sql.length && SPACE.test(sql[i]!)) i++;
    else if (sql.startsWith('/*', i) && sql[i + 2] !== '!') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else return i;
  }
}

/** A database name at `i`: `back``quoted` or a bare word (up to a space, `;` or comment). */
function readIdentifier(sql: string, i: number): { name: string; end: number } {
  if (sql[i] === '`') {
    const end = skipQuoted(sql, i);
    return { name: sql.slice(i + 1, end - 1).replaceAll('``', '`'), end };
  }
  let j = i;
  while (j < sql.length && WORD.test(sql[j]!)) j++;
  return { name: sql.slice(i, j), end: j };
}
