// What a Kubernetes API request acts on, read from its method, path and query as the API server's request-info
// resolver reads them: the resource kind (plural, as in the path), namespace, name, subresource and verb. Requests
// that name no resource (/version, discovery, /openapi, /healthz) are `resource: undefined`.

/** The resource a request acts on. */
export interface KubeRequestTarget {
  /** The resource as in the path (`pods`, `deployments`); the API group is not part of it. */
  kind: string;
  /** `''` for cluster-scoped resources and for lists across all namespaces. */
  namespace: string;
  /** `''` for a collection (list, watch, create, deletecollection). */
  name: string;
  subresource: string;
  /** get, list, watch, create, update, patch, delete, deletecollection; `exec` / `portforward` for those subresources. */
  verb: string;
}

/** A request's verb and target; `target` is undefined for non-resource requests. */
export interface KubeRequestInfo {
  verb: string;
  target?: KubeRequestTarget;
}

function methodVerb(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch) return 'watch';
      return named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

/** Reads a request's target from an already checked path (no dot segments, no encoded slashes) and its query. */
export function requestInfo(method: string, path: string, query: string): KubeRequestInfo {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let watch = /(^|&)watch=(true|1)(&|$)/.test(query);
  // /api/v1/... or /apis/<group>/<version>/...
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) rest = parts.slice(2);
  else if (parts[0] === 'apis' && parts.length >= 3) rest = parts.slice(3);
  else return { verb: methodVerb(method, false, watch) };
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  }
  if (rest.length === 0) return { verb: methodVerb(method, false, watch) };
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  const [kind = '', name = '', subresource = ''] = rest;
  // `/api/v1/namespaces/<ns>` is the namespace object itself (cluster-scoped).
  let verb = methodVerb(method, name !== '', watch);
  if (subresource === 'exec' || subresource === 'portforward' || subresource === 'attach')
    verb = subresource === 'attach' ? 'exec' : subresource;
  return { verb, target: { kind, namespace, name, subresource, verb } };
}
