// Text from other parties (node names, labels, error messages, audit fields) reaches terminals through tp's
// output. Escape sequences in it could clear the screen, retitle the window or forge lines, so it is stripped.

// ESC sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC strings (ended by BEL or ESC \), and two-byte ones.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal controls is this module's job
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]?|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?/g;
// Single C1 controls (U+0080-U+009F; U+009B is CSI and U+009D OSC on many terminals), their strings included.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal controls is this module's job
const C1_STRINGS = /[\x90\x98\x9d\x9e\x9f][^\x07\x9c]*(?:\x07|\x9c)?|\x9b[0-?]*[ -/]*[@-~]?/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal controls is this module's job
const CONTROLS_KEEP_LINES = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal controls is this module's job
const CONTROLS_ALL = /[\x00-\x1f\x7f-\x9f]/g;

/**
 * The text with every terminal control removed: escape sequences whole, then C0 (except newline and tab when
 * `multiline`), DEL and C1. In a single line (the default), newlines and tabs become spaces.
 */
export function terminalSafe(text: string, o: { multiline?: boolean } = {}): string {
  const bare = text.replace(ESCAPES, '').replace(C1_STRINGS, '');
  return o.multiline ? bare.replace(CONTROLS_KEEP_LINES, '') : bare.replace(/[\n\t]/g, ' ').replace(CONTROLS_ALL, '');
}

/** JSON with C1 controls (which JSON.stringify leaves raw) written as \u escapes: the same value, safe to show. */
export function jsonSafe(json: string): string {
  return json.replace(/[\u0080-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * YAML with C1 controls written as `\x` escapes: the same value, safe to show. The YAML printer double-quotes every
 * string holding a non-printable character, and `\x9b` is that style's escape.
 */
export function yamlSafe(yaml: string): string {
  return yaml.replace(/[\u0080-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);
}
