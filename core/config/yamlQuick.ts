// The lean path for reading tp.yaml: Bun's native YAML parser (no JavaScript library loaded; an agent on a small
// device reads its config once and idles for months). It answers only when nothing looks wrong: on a syntax error,
// or a key that may be repeated, the caller reads the file again with the `yaml` library, the authority for
// errors (file:line, unique keys).

const KEY_LINE = /^( *)(?:- +)?((?:"[^"]*"|'[^']*'|[^\s#:'"][^:#]*?)) *:(?: |$)/;

/**
 * True when a block mapping may hold one key twice (Bun's parser keeps the last silently). Conservative: any doubt
 * (block scalars, flow mappings spanning lines) says yes, which costs only the slower, exact parse.
 */
export function mayRepeatKeys(text: string): boolean {
  // Keys seen per open mapping, by indentation; a list item starts a fresh mapping at its indentation.
  const open: { indent: number; keys: Set<string> }[] = [];
  for (const line of text.split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    if (/[|>][-+0-9]*\s*(#.*)?$/.test(line) || /^\s*[{[]/.test(line)) return true;
    const m = KEY_LINE.exec(line);
    if (!m) continue;
    const item = /^ *- /.test(line);
    const indent = item ? line.indexOf('-') + 2 : m[1]!.length;
    while (open.length && (open.at(-1)!.indent > indent || (item && open.at(-1)!.indent === indent))) open.pop();
    let top = open.at(-1);
    if (!top || top.indent < indent) {
      top = { indent, keys: new Set() };
      open.push(top);
    }
    const key = m[2]!.replace(/^["']|["']$/g, '');
    if (top.keys.has(key)) return true;
    top.keys.add(key);
  }
  return false;
}

/** The document as plain data, or undefined when the exact parser must have its say (see above). */
export function quickYaml(text: string): unknown | undefined {
  if (mayRepeatKeys(text)) return undefined;
  try {
    return Bun.YAML.parse(text);
  } catch {
    // A syntax error: the `yaml` library words it with its line when the caller parses again. Nothing is lost.
    return undefined;
  }
}
