/** The most protocol text (a statement, its parameters) one audit event carries. */
export const MAX_EVENT_TEXT = 32 * 1024;

/**
 * Cuts `text` to at most `max` UTF-8 bytes without splitting a character; `truncated` says whether anything was
 * dropped, so an event can mark itself (`truncated: true`).
 */
export function capText(text: string, max = MAX_EVENT_TEXT): { text: string; truncated: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return { text, truncated: false };
  let end = max;
  // Step back over UTF-8 continuation bytes (10xxxxxx) so the cut falls between characters.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return { text: bytes.subarray(0, end).toString('utf8'), truncated: true };
}
