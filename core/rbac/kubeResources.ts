// `kubernetes_resources` in roles: which Kubernetes objects a request may act on, `{kind, namespace, name, verbs}`
// with `*` globs. A cluster's granting roles without the field allow every object (as before the field existed);
// any role's deny rule that touches the request refuses it (deny wins). A collection request (list, watch) is allowed
// only when an allow rule covers the whole collection and no deny rule touches any part of it: tp refuses a list the
// rules only partly allow rather than filter the API server's answer.
import { AccessDenied } from '../errors.ts';
import type { Role } from './schema.ts';

/** One `kubernetes_resources` entry. */
export interface KubeResourceRule {
  kind: string;
  namespace?: string;
  name?: string;
  verbs: string[];
}

/** What a request acts on (plugins/kube/requestTarget.ts reads it from the request). */
export interface KubeResourceTarget {
  kind: string;
  /** `''`: cluster-scoped, or every namespace for a collection. */
  namespace: string;
  /** `''`: the collection. */
  name: string;
  verb: string;
}

const cache = new Map<string, RegExp>();

/** Whether `value` matches the glob `pattern` (`*` is any run of characters, including none). */
export function globMatch(pattern: string, value: string): boolean {
  let re = cache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 's');
    if (cache.size > 1000) cache.clear();
    cache.set(pattern, re);
  }
  return re.test(value);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const verbMatches = (r: KubeResourceRule, verb: string) => r.verbs.includes('*') || r.verbs.includes(verb);

/** An allow rule covers every object the request may touch. */
function covers(r: KubeResourceRule, t: KubeResourceTarget): boolean {
  const ns = r.namespace ?? '*';
  const name = r.name ?? '*';
  if (!globMatch(r.kind, t.kind) || !verbMatches(r, t.verb)) return false;
  const collection = t.name === '';
  if (collection && t.namespace === '' && ns !== '*') return false;
  if (!globMatch(ns, t.namespace)) return false;
  return collection ? name === '*' : globMatch(name, t.name);
}

/** A deny rule touches some object the request may touch. */
function touches(r: KubeResourceRule, t: KubeResourceTarget): boolean {
  if (!globMatch(r.kind, t.kind) || !verbMatches(r, t.verb)) return false;
  const collection = t.name === '';
  if (!(collection && t.namespace === '') && !globMatch(r.namespace ?? '*', t.namespace)) return false;
  return collection || globMatch(r.name ?? '*', t.name);
}

function described(t: KubeResourceTarget): string {
  const what = t.name ? `${t.kind}/${t.name}` : t.kind;
  const where = t.namespace ? ` in namespace "${t.namespace}"` : t.name ? '' : ' across all namespaces';
  return `"${t.verb}" on ${what}${where}`;
}

/**
 * Throws AccessDenied (with the rule's reason) unless the `granting` roles (those whose kubernetes_labels match the
 * cluster) allow the request on `target` and no role of `all` denies it.
 */
export function checkKubeResource(granting: Role[], all: Role[], target: KubeResourceTarget): void {
  for (const role of all)
    if ((role.spec.deny.kubernetes_resources ?? []).some((r) => touches(r, target)))
      throw new AccessDenied(`kubernetes_resources of role "${role.metadata.name}" deny ${described(target)}`);
  const allowed = granting.some((role) => {
    const rules = role.spec.allow.kubernetes_resources;
    return rules === undefined || rules.some((r) => covers(r, target));
  });
  if (!allowed) {
    const hint = target.name === '' && target.namespace === '' ? ' (name a namespace with -n)' : '';
    throw new AccessDenied(`kubernetes_resources of your roles do not allow ${described(target)}${hint}`);
  }
}
