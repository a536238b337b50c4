/**
 * Pure helpers for route templates: how an Express mount path or route path becomes text, and
 * how the mount paths of the routers a request went through join with the matched route's path.
 *
 *   app.use('/api', api); api.use('/users', users); users.get('/:id')  →  '/api/users/:id'
 */

/** The one `http.route` value for requests that matched no route (404s, scanners). */
export const UNMATCHED_ROUTE = '(unmatched)';

/** An Express path argument (string, RegExp, or a nested array of those) as template text. */
export function templateOf(path: unknown): string {
  if (typeof path === 'string') return path;
  if (path instanceof RegExp) return String(path);
  if (Array.isArray(path)) return path.map(templateOf).join(',');
  return String(path);
}

/**
 * The prefix after entering a router mounted at `mountPath` from a router whose prefix is `prefix`.
 * Trailing slashes of the mount path are dropped: `app.use('/api/', r)` behaves as '/api'.
 */
export function joinMountPath(prefix: string, mountPath: string): string {
  let end = mountPath.length;
  while (end > 0 && mountPath.charCodeAt(end - 1) === 47 /* '/' */) end--;
  return end === mountPath.length ? prefix + mountPath : prefix + mountPath.slice(0, end);
}

/**
 * The full template for a route path matched under `prefix`. A router's root route
 * (`router.get('/')` under '/api') is the mount itself: '/api'. The app's root stays '/'.
 */
export function joinRoute(prefix: string, routePath: string): string {
  if (prefix === '') return routePath === '' ? '/' : routePath;
  if (routePath === '' || routePath === '/') return prefix;
  if (routePath.charCodeAt(0) === 47) return prefix + routePath;
  return `${prefix}/${routePath}`;
}

/**
 * Where the mount path sits in `router.use(...)` arguments, mirroring Express: the first
 * argument is a path unless it (or the first leaf of a nested array) is a function.
 * Returns undefined for `use(fn)`, i.e. mounted at '/'.
 */
export function mountPathOfUseArgs(args: readonly unknown[]): unknown {
  const first = args[0];
  let leaf: unknown = first;
  while (Array.isArray(leaf) && leaf.length !== 0) leaf = leaf[0];
  return typeof leaf === 'function' ? undefined : first;
}
