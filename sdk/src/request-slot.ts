/**
 * Where the SDK keeps a request's data: the Express route capture (`express-route.ts`) and the
 * incoming-request hook (`server-requests.ts`) share one object per request.
 *
 * The hook puts its per-request state on the request under `kRequestSlot` as soon as Node emits
 * 'request', before Express re-prototypes the request (`Object.setPrototypeOf(req, app.request)`);
 * the route capture then writes the route and mount prefix into that state object. Adding them as
 * properties of the request itself, after Express's prototype switch, cost ~2 KB of garbage per
 * request (new hidden classes every time; bench/sdk-overhead/cpu-per-request.mjs: 27.2 KB
 * allocated/request with the route capture vs 25.2 without). When no hook state exists (a server
 * the hook did not see), the request itself is the slot, as before.
 */
export const kRequestSlot = Symbol('lattice.request');
export const kRoute = Symbol('lattice.route');
export const kPrefix = Symbol('lattice.route.prefix');

/** The route template Express matched and the mount prefix of the router the request is in. */
export interface RouteSlot {
  [kRoute]?: string | undefined;
  [kPrefix]?: string | undefined;
}

/** The object to read and write a request's route fields on. */
export function slotOf(req: object): RouteSlot {
  return (req as { [kRequestSlot]?: RouteSlot })[kRequestSlot] ?? (req as RouteSlot);
}
