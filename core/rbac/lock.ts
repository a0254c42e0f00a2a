/** What a lock names: a user, or a node by its name or host ID. */
export interface LockScope {
  user?: string;
  node?: string;
  /** One instance of a bot (its certificates name it), locked alone when its identity was copied. */
  botInstance?: string;
  /** A plugin's resource, as `<kind>/<name>` (`db/pg1`): every agent serving that name is covered. */
  resource?: string;
}

/** Who or what is asking to get through: a user, a node (both its name and host ID count), or both at once. */
export interface LockSubject {
  user?: string;
  node?: { name: string; hostId: string };
  /** The bot instance a bot's certificate names. */
  botInstance?: string;
  /** The plugin resource asked for, as `<kind>/<name>`. */
  resource?: string;
}

/**
 * True when `lock` covers the subject: it names the subject's user or bot instance, the node by name or host ID,
 * or the resource by `<kind>/<name>`.
 */
export function lockApplies(lock: { target: LockScope }, subject: LockSubject): boolean {
  const t = lock.target;
  if (t.user !== undefined && subject.user !== undefined && t.user === subject.user) return true;
  if (t.botInstance !== undefined && subject.botInstance === t.botInstance) return true;
  if (t.resource !== undefined && subject.resource !== undefined && t.resource === subject.resource) return true;
  if (t.node !== undefined && subject.node && (t.node === subject.node.name || t.node === subject.node.hostId)) {
    return true;
  }
  return false;
}
