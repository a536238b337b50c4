/**
 * Route template capture for Express 4 and 5.
 *
 * The stock express instrumentation rebuilds the route from a stack of layer paths pushed and
 * popped as middleware runs; that stack is wrong once a handler calls `next()` and a later
 * generic middleware answers (it reports the catch-all's '/'), and it misses some nested
 * routers. We instead record, per request, the template of the route that actually matched:
 *
 *  - `router.use(path, …)` is wrapped to tag the layers it creates with their mount path
 *    (Express 4's Layer does not keep the path text).
 *  - The Layer's request handler is wrapped. Entering a tagged mount layer extends the request's
 *    mount prefix; the wrapped `next` restores it when the request leaves that router.
 *    Entering a layer that has a `.route` (the route matched) stores
 *    `joinRoute(prefix, route.path)` on the request. The last matched route wins, so a handler
 *    that fills `res.locals` and calls `next()` keeps its template when a later generic
 *    middleware sends the response.
 *
 * Hot path: an untagged, non-route layer (plain middleware, the per-method layers inside a
 * Route) costs two property reads. The joined template is cached on the route layer per prefix.
 *
 * Express 4 keeps Router and Layer in `express/lib/router/`; Express 5 uses the `router` package
 * (v2). Both are loaded with `require` by Express itself, so require-in-the-middle sees them
 * even when the app imports Express from ESM.
 */
import { InstrumentationBase, InstrumentationNodeModuleDefinition, InstrumentationNodeModuleFile } from '@opentelemetry/instrumentation';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import { kPrefix, kRoute, slotOf } from './request-slot';
import { joinMountPath, joinRoute, mountPathOfUseArgs, templateOf } from './route';

const kMountPath = Symbol('lattice.route.mountPath');
const kCachePrefix = Symbol('lattice.route.cachePrefix');
const kCacheTemplate = Symbol('lattice.route.cacheTemplate');

type Next = (err?: unknown) => void;

interface PatchedLayer {
  route?: { path: unknown };
  [kMountPath]?: string;
  [kCachePrefix]?: string;
  [kCacheTemplate]?: string;
}

type LayerHandle = (this: PatchedLayer, req: object, res: unknown, next: Next) => unknown;
type UseFn = (this: { stack: PatchedLayer[] }, ...args: unknown[]) => unknown;

/** The route template Express matched for this request, or undefined if none did. */
export function routeOf(req: object): string | undefined {
  return slotOf(req)[kRoute];
}

function wrapLayerHandle(original: LayerHandle): LayerHandle {
  return function latticeLayerHandle(this: PatchedLayer, req, res, next) {
    const route = this.route;
    if (route !== undefined) {
      const slot = slotOf(req);
      const prefix = slot[kPrefix] ?? '';
      let template = this[kCacheTemplate];
      if (template === undefined || this[kCachePrefix] !== prefix) {
        template = joinRoute(prefix, templateOf(route.path));
        this[kCachePrefix] = prefix;
        this[kCacheTemplate] = template;
      }
      slot[kRoute] = template;
      return original.call(this, req, res, next);
    }
    const mountPath = this[kMountPath];
    if (mountPath === undefined) return original.call(this, req, res, next);
    const slot = slotOf(req);
    const outer = slot[kPrefix];
    slot[kPrefix] = joinMountPath(outer ?? '', mountPath);
    return original.call(this, req, res, function latticeLeaveMount(this: unknown, ...args: unknown[]) {
      slot[kPrefix] = outer;
      return (next as (...a: unknown[]) => unknown).apply(this, args);
    });
  };
}

function wrapUse(original: UseFn): UseFn {
  return function latticeUse(this: { stack: PatchedLayer[] }, ...args: unknown[]) {
    const before = Array.isArray(this.stack) ? this.stack.length : 0;
    const result = original.apply(this, args);
    const path = mountPathOfUseArgs(args);
    if (path !== undefined && Array.isArray(this.stack)) {
      const mountPath = joinMountPath('', templateOf(path));
      if (mountPath !== '') {
        for (let i = before; i < this.stack.length; i++) {
          const layer = this.stack[i];
          if (layer !== undefined) layer[kMountPath] = mountPath;
        }
      }
    }
    return result;
  };
}

interface Patchable {
  [key: string]: unknown;
}

const kOriginalUse = Symbol('lattice.route.originalUse');
type MarkedUse = UseFn & { [kOriginalUse]?: UseFn };

/**
 * `use` is wrapped by plain assignment, without shimmer's `__wrapped` marks: the stock
 * ExpressInstrumentation (LATTICE_EXPRESS_LAYER_SPANS) patches the same `Router.prototype.use`
 * after us (it hooks `express`, which loads the router first) and *unwraps* any shimmer-wrapped
 * `use` before wrapping its own, which silently dropped our mount paths ('/:userId' instead of
 * '/api/users/:userId'; test/preload/express-layer-spans.test.ts). Unmarked, it wraps ours.
 */
function patchUse(target: unknown): void {
  const obj = target as { use?: MarkedUse } | undefined;
  const original = obj?.use;
  if (obj === undefined || typeof original !== 'function' || original[kOriginalUse] !== undefined) return;
  const patched: MarkedUse = wrapUse(original);
  patched[kOriginalUse] = original;
  obj.use = patched;
}

/** Restores `use` if ours is still the outermost wrapper (else another wrapper holds ours). */
function unpatchUse(target: unknown): void {
  const obj = target as { use?: MarkedUse } | undefined;
  const original = obj?.use?.[kOriginalUse];
  if (obj !== undefined && original !== undefined) obj.use = original;
}

export class ExpressRouteInstrumentation extends InstrumentationBase {
  constructor(config: InstrumentationConfig = {}) {
    super('@lattice/express-route', '0.1.0', config);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    const patchMethod = (target: unknown, method: string, wrapper: (fn: never) => unknown): void => {
      const obj = target as Patchable | undefined;
      if (obj && typeof obj[method] === 'function') this._wrap(obj, method, wrapper as never);
    };
    const unpatchMethod = (target: unknown, method: string): void => {
      const obj = target as Patchable | undefined;
      if (obj && typeof obj[method] === 'function') this._unwrap(obj, method);
    };
    // A CJS module imported from ESM through import-in-the-middle arrives as a namespace.
    const cjs = (exports: unknown): Patchable | undefined => {
      const e = exports as { default?: unknown } | undefined;
      if (typeof e === 'function') return e as unknown as Patchable;
      if (e && typeof e.default === 'function') return e.default as unknown as Patchable;
      return e as Patchable | undefined;
    };
    const protoOf = (exports: unknown): unknown => (cjs(exports)?.prototype as unknown) ?? undefined;

    const express4 = new InstrumentationNodeModuleDefinition('express', ['>=4.0.0 <5'], undefined, undefined, [
      new InstrumentationNodeModuleFile(
        'express/lib/router/layer.js',
        ['>=4.0.0 <5'],
        (exports: unknown) => {
          patchMethod(protoOf(exports), 'handle_request', wrapLayerHandle);
          return exports;
        },
        (exports: unknown) => unpatchMethod(protoOf(exports), 'handle_request'),
      ),
      new InstrumentationNodeModuleFile(
        'express/lib/router/index.js',
        ['>=4.0.0 <5'],
        (exports: unknown) => {
          // Express 4 exports the router prototype object itself; routers get it via setPrototypeOf.
          patchUse(exports);
          return exports;
        },
        (exports: unknown) => unpatchUse(exports),
      ),
    ]);

    const router2 = new InstrumentationNodeModuleDefinition(
      'router',
      ['>=2.0.0 <3'],
      (exports: unknown) => {
        patchUse(protoOf(exports));
        return exports;
      },
      (exports: unknown) => unpatchUse(protoOf(exports)),
      [
        new InstrumentationNodeModuleFile(
          'router/lib/layer.js',
          ['>=2.0.0 <3'],
          (exports: unknown) => {
            patchMethod(protoOf(exports), 'handleRequest', wrapLayerHandle);
            return exports;
          },
          (exports: unknown) => unpatchMethod(protoOf(exports), 'handleRequest'),
        ),
      ],
    );

    return [express4, router2];
  }
}
