// The entries `tp kube login` adds to a user's kubeconfig and `tp kube logout` takes out again, as edits of the
// YAML document: every other entry, field and comment stays as it was. Each tp context carries a `tp` extension
// that marks it as tp's and remembers the context that was current before it, so logout can put that one back.
import { type Document, isMap, isScalar, isSeq, parseDocument, stringify, type YAMLMap, YAMLSeq } from 'yaml';
import { BadParameter } from '../../core/errors.ts';

/** The extension name on contexts tp wrote. */
export const TP_EXTENSION = 'tp';

/** What tp remembers on a context it wrote (the `tp` extension). */
export interface TpMark {
  proxy: string;
  tp_cluster: string;
  kube_cluster: string;
  /** The current context before this one was made current (restored by logout); absent when there was none. */
  previous_context?: string;
}

/** One `tp kube login`: the cluster, user and context entries, all named `name`. */
export interface KubeLoginEntry {
  /** `<tp cluster>-<kube cluster>`: the name of the cluster, user and context entries. */
  name: string;
  cluster: Record<string, unknown>;
  user: Record<string, unknown>;
  mark: Omit<TpMark, 'previous_context'>;
}

const LISTS = ['clusters', 'users', 'contexts'] as const;
type List = (typeof LISTS)[number];
const FIELD: Record<List, string> = { clusters: 'cluster', users: 'user', contexts: 'context' };

/** Parses kubeconfig text ('' is an empty config); BadParameter naming `where` when it is not a YAML mapping. */
function load(text: string, where: string): Document {
  const doc = parseDocument(text.trim() === '' ? '{}' : text);
  if (doc.errors.length > 0) throw new BadParameter(`${where} is not valid YAML: ${doc.errors[0]!.message}`);
  if (!isMap(doc.contents)) throw new BadParameter(`${where} is not a kubeconfig (not a YAML mapping)`);
  return doc;
}

function list(doc: Document, key: List, create: boolean): YAMLSeq | undefined {
  const node = doc.get(key, true);
  if (isSeq(node)) return node;
  // `users: null` (as kubectl itself may write) or no field at all is an empty list; anything else is not a kubeconfig.
  if (node !== undefined && !(isScalar(node) && (node.value === null || node.value === '')))
    throw new BadParameter(`kubeconfig field "${key}" is not a list`);
  if (!create) return undefined;
  const seq = new YAMLSeq();
  doc.set(key, seq);
  return seq;
}

const nameOf = (item: unknown) => (isMap(item) ? item.get('name') : undefined);

function indexOf(seq: YAMLSeq | undefined, name: string): number {
  return seq ? seq.items.findIndex((i) => nameOf(i) === name) : -1;
}

/** The `tp` mark of a context item, when tp wrote it. */
function markOf(item: unknown): TpMark | undefined {
  if (!isMap(item)) return undefined;
  const ctx = item.get('context');
  if (!isMap(ctx)) return undefined;
  const exts = ctx.get('extensions');
  if (!isSeq(exts)) return undefined;
  const ext = exts.items.find((e) => nameOf(e) === TP_EXTENSION);
  const value = isMap(ext) ? (ext as YAMLMap).get('extension') : undefined;
  if (!isMap(value)) return undefined;
  const mark = value.toJSON() as Partial<TpMark>;
  return typeof mark.kube_cluster === 'string' && typeof mark.tp_cluster === 'string' ? (mark as TpMark) : undefined;
}

function setItem(doc: Document, key: List, name: string, body: unknown): void {
  const seq = list(doc, key, true)!;
  const node = doc.createNode({ name, [FIELD[key]]: body });
  const i = indexOf(seq, name);
  if (i >= 0) seq.items[i] = node;
  else seq.items.push(node);
}

/**
 * Adds (or replaces) the cluster, user and context `e.name` in kubeconfig `text` and makes the context current,
 * leaving every other entry as it was. A name already taken by an entry tp did not write is refused (BadParameter):
 * tp never overwrites a user's own context.
 */
export function addLogin(text: string, e: KubeLoginEntry, where = 'kubeconfig'): string {
  const doc = load(text, where);
  const contexts = list(doc, 'contexts', false);
  const at = indexOf(contexts, e.name);
  const old = at >= 0 ? markOf(contexts!.items[at]) : undefined;
  const foreign = (key: List) => indexOf(list(doc, key, false), e.name) >= 0;
  if (!old && (at >= 0 || foreign('clusters') || foreign('users')))
    throw new BadParameter(`${where} already has an entry "${e.name}" that tp did not write; rename or remove it`);
  const current = doc.get('current-context');
  const previous =
    old?.previous_context ??
    (typeof current === 'string' && current !== '' && current !== e.name ? current : undefined);
  const mark: TpMark = { ...e.mark, ...(previous !== undefined && { previous_context: previous }) };
  if (doc.get('apiVersion') === undefined) doc.set('apiVersion', 'v1');
  if (doc.get('kind') === undefined) doc.set('kind', 'Config');
  setItem(doc, 'clusters', e.name, e.cluster);
  setItem(doc, 'users', e.name, e.user);
  setItem(doc, 'contexts', e.name, {
    cluster: e.name,
    user: e.name,
    extensions: [{ name: TP_EXTENSION, extension: mark }],
  });
  doc.set('current-context', e.name);
  return doc.toString();
}

/**
 * A kubeconfig of its own holding `entries` (a bot's DIR/kubeconfig), the first one's context current. It carries
 * no tp marks: no one logs out of it, its owner rewrites it whole.
 */
export function standaloneKubeconfig(entries: KubeLoginEntry[]): string {
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: entries.map((e) => ({ name: e.name, cluster: e.cluster })),
    users: entries.map((e) => ({ name: e.name, user: e.user })),
    contexts: entries.map((e) => ({ name: e.name, context: { cluster: e.name, user: e.name } })),
    ...(entries[0] && { 'current-context': entries[0].name }),
  };
  return stringify(doc);
}

/** Which tp entries `removeLogins` takes out: one kube cluster of a tp cluster, or all of a tp cluster's, or all. */
export interface LoginSelector {
  tpCluster?: string;
  kubeCluster?: string;
}

/**
 * Removes the entries tp wrote that `sel` selects (found by the `tp` mark on their context) and, when one of them was
 * current, makes current again the context that was current before it. Returns the new text and the removed names.
 */
export function removeLogins(
  text: string,
  sel: LoginSelector,
  where = 'kubeconfig',
): { text: string; removed: string[] } {
  const doc = load(text, where);
  const contexts = list(doc, 'contexts', false);
  const marks = marksOf(doc);
  const removed = [...marks]
    .filter(
      ([, m]) =>
        (sel.tpCluster === undefined || m.tp_cluster === sel.tpCluster) &&
        (sel.kubeCluster === undefined || m.kube_cluster === sel.kubeCluster),
    )
    .map(([n]) => n);
  if (removed.length === 0) return { text, removed };
  const gone = new Set(removed);
  // The context to fall back to: follow the chain of previous contexts past every one removed here.
  const restore = (name: string | undefined): string | undefined => {
    const seen = new Set<string>();
    while (name !== undefined && gone.has(name) && !seen.has(name)) {
      seen.add(name);
      name = marks.get(name)?.previous_context;
    }
    return name !== undefined && gone.has(name) ? undefined : name;
  };
  for (const [name, mark] of marks) {
    if (gone.has(name) || mark.previous_context === undefined || !gone.has(mark.previous_context)) continue;
    const item = contexts!.items[indexOf(contexts, name)];
    const ext = ((item as YAMLMap).getIn(['context', 'extensions']) as YAMLSeq).items.find(
      (x) => nameOf(x) === TP_EXTENSION,
    ) as YAMLMap;
    const next = restore(mark.previous_context);
    if (next === undefined) (ext.get('extension') as YAMLMap).delete('previous_context');
    else (ext.get('extension') as YAMLMap).set('previous_context', next);
  }
  for (const key of LISTS) {
    const seq = list(doc, key, false);
    if (seq) seq.items = seq.items.filter((i) => !gone.has(nameOf(i) as string));
  }
  const current = doc.get('current-context');
  if (typeof current === 'string' && gone.has(current)) {
    const back = restore(current);
    if (back === undefined) doc.delete('current-context');
    else doc.set('current-context', back);
  }
  return { text: doc.toString(), removed };
}

/** The tp marks of the contexts in kubeconfig `text`, by context name (what `tp kube ls` shows as logged in). */
export function tpLogins(text: string, where = 'kubeconfig'): Map<string, TpMark> {
  return marksOf(load(text, where));
}

function marksOf(doc: Document): Map<string, TpMark> {
  const out = new Map<string, TpMark>();
  for (const item of list(doc, 'contexts', false)?.items ?? []) {
    const name = nameOf(item);
    const mark = markOf(item);
    if (typeof name === 'string' && mark) out.set(name, mark);
  }
  return out;
}

/** The kubeconfig's current context, if it names one. */
export function currentContext(text: string, where = 'kubeconfig'): string | undefined {
  const current = load(text, where).get('current-context');
  return typeof current === 'string' && current !== '' ? current : undefined;
}
