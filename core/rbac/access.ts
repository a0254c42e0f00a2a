import { parseDuration } from '../clock.ts';
import { AccessDenied } from '../errors.ts';
import type { Resource, Role, RoleConditions, Verb } from './schema.ts';

/** A user's traits: name → values (`logins` is the built-in `internal.logins`). */
export type Traits = Record<string, string[]>;

/** Default and ceiling for certificate TTLs when roles say nothing. */
export const DEFAULT_MAX_SESSION_TTL = 12 * 3_600_000;

const TEMPLATE = /^\{\{\s*(internal|external)\.([A-Za-z0-9_.-]+)\s*\}\}$/;

/** Expands `{{internal.x}}` / `{{external.x}}` to the user's trait values; other strings stay as they are. */
export function expandTemplate(value: string, traits: Traits): string[] {
  const m = TEMPLATE.exec(value.trim());
  if (!m) return value.includes('{{') ? [] : [value];
  return traits[m[2]!] ?? [];
}

function expandAll(values: string[] | undefined, traits: Traits): string[] {
  return (values ?? []).flatMap((v) => expandTemplate(v, traits));
}

/**
 * The logins a set of roles grants, after templates, minus every login any role denies (deny wins), in the order
 * given (roles in order, each role's logins and trait values as listed): the first is `tp ssh`'s default.
 */
export function allowedLogins(roles: Role[], traits: Traits): string[] {
  const denied = new Set(roles.flatMap((r) => expandAll(r.spec.deny.logins, traits)));
  const allowed = new Set(roles.flatMap((r) => expandAll(r.spec.allow.logins, traits)));
  return [...allowed].filter((l) => !denied.has(l) && !denied.has('*'));
}

function valueMatches(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('^') && pattern.endsWith('$')) return new RegExp(pattern).test(value);
  return pattern === value;
}

/** True when every label in the selector matches the node's labels (`'*': '*'` matches every node). */
export function labelsMatch(selector: RoleConditions['node_labels'], labels: Record<string, string>): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([name, want]) => {
    const wants = Array.isArray(want) ? want : [want];
    if (name === '*') return wants.includes('*');
    const have = labels[name];
    return have !== undefined && wants.some((w) => valueMatches(w, have));
  });
}

/** True when some role's allow labels match the node and no role's deny labels do (deny wins): who may see it. */
export function nodeVisible(roles: Role[], labels: Record<string, string>): boolean {
  if (roles.some((r) => labelsMatch(r.spec.deny.node_labels, labels))) return false;
  return roles.some((r) => labelsMatch(r.spec.allow.node_labels, labels));
}

/** Throws AccessDenied unless some role allows `login` on a node with `labels` and no role denies either. */
export function checkNodeAccess(roles: Role[], traits: Traits, login: string, labels: Record<string, string>): void {
  const names = roles.map((r) => r.metadata.name).join(', ');
  for (const r of roles) {
    if (expandAll(r.spec.deny.logins, traits).some((l) => l === login || l === '*')) {
      throw new AccessDenied(`login "${login}" is denied by role "${r.metadata.name}"`);
    }
    if (labelsMatch(r.spec.deny.node_labels, labels)) {
      throw new AccessDenied(`access to this node is denied by role "${r.metadata.name}"`);
    }
  }
  const grants = roles.filter((r) => expandAll(r.spec.allow.logins, traits).includes(login));
  if (grants.length === 0) throw new AccessDenied(`login "${login}" is not allowed by roles [${names}]`);
  if (!grants.some((r) => labelsMatch(r.spec.allow.node_labels, labels))) {
    throw new AccessDenied(`node labels do not match roles [${names}] that allow login "${login}"`);
  }
}

function ruleMatches(c: RoleConditions, resource: Resource, verb: Verb): boolean {
  return (c.rules ?? []).some(
    (rule) =>
      (rule.resources.includes('*') || rule.resources.includes(resource)) &&
      (rule.verbs.includes('*') || rule.verbs.includes(verb)),
  );
}

/** True when some role's rules allow `verb` on `resource` and none denies it (what checkRule lets through). */
export function ruleAllows(roles: Role[], resource: Resource, verb: Verb): boolean {
  return (
    !roles.some((r) => ruleMatches(r.spec.deny, resource, verb)) &&
    roles.some((r) => ruleMatches(r.spec.allow, resource, verb))
  );
}

/** Throws AccessDenied unless some role's rules allow `verb` on `resource` and none denies it. */
export function checkRule(roles: Role[], resource: Resource, verb: Verb): void {
  for (const r of roles) {
    if (ruleMatches(r.spec.deny, resource, verb)) {
      throw new AccessDenied(`"${verb}" on ${resource} is denied by role "${r.metadata.name}"`);
    }
  }
  if (!roles.some((r) => ruleMatches(r.spec.allow, resource, verb))) {
    throw new AccessDenied(
      `"${verb}" on ${resource} is not allowed by roles [${roles.map((r) => r.metadata.name).join(', ')}]`,
    );
  }
}

/**
 * Which session recordings a user's roles let them list or play: `all` when a role allows `verb` on recording;
 * otherwise `own`, the sessions they took part in (a rule every user has by default); `denied` when a role denies
 * `verb` on recording (deny wins, over their own sessions too).
 */
export function recordingScope(roles: Role[], verb: 'list' | 'read'): 'all' | 'own' | 'denied' {
  if (roles.some((r) => ruleMatches(r.spec.deny, 'recording', verb))) return 'denied';
  return roles.some((r) => ruleMatches(r.spec.allow, 'recording', verb)) ? 'all' : 'own';
}

/** The longest certificate TTL the roles allow: the smallest max_session_ttl among them. */
export function maxSessionTtl(roles: Role[]): number {
  const ttls = roles
    .map((r) => r.spec.options.max_session_ttl)
    .filter((t): t is string => !!t)
    .map(parseDuration);
  return ttls.length ? Math.min(...ttls) : DEFAULT_MAX_SESSION_TTL;
}

/** SSH certificate permissions: pty unless a role forbids it; forwarding if a role allows and none forbids. */
export function sshPermissions(roles: Role[]): { pty: boolean; portForwarding: boolean; agentForwarding: boolean } {
  const opts = roles.map((r) => r.spec.options);
  const flag = (key: 'forward_agent' | 'port_forwarding') =>
    opts.some((o) => o[key] === true) && !opts.some((o) => o[key] === false);
  return {
    pty: !opts.some((o) => o.permit_pty === false),
    portForwarding: flag('port_forwarding'),
    agentForwarding: flag('forward_agent'),
  };
}
