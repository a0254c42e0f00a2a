import { type DesktopInfo, DesktopInfoSchema } from '../core/api/desktopSchemas.ts';
import { ApiError, apiOf } from './api.ts';

/** What the proxy says about desktop `name` (as `login`) for this session: protocol and rights; throws a refusal. */
export function desktopInfo(name: string, login?: string): Promise<DesktopInfo> {
  const query = login ? `?${new URLSearchParams({ login })}` : '';
  return apiOf(DesktopInfoSchema, 'GET', `/webapi/desktops/${encodeURIComponent(name)}${query}`);
}

/**
 * Why the proxy now refuses desktop `name` (a lock, a role, an expired login), or undefined when it would let the
 * session in or cannot say: the reason a session that just ended gives the person.
 */
export async function desktopRefusal(name: string, login?: string): Promise<string | undefined> {
  try {
    await desktopInfo(name, login);
    return undefined;
  } catch (err) {
    return err instanceof ApiError && err.status < 500 ? err.message : undefined;
  }
}
