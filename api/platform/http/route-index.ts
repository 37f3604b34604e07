import type Koa from 'koa';
import compose from 'koa-compose';
import type Router from '@koa/router';

type Layer = Router['stack'][number];
type MatchResult = ReturnType<Router['match']>;

interface Node {
  /** Positions (in the router's stack) of the layers whose literal segments end here. */
  layers: number[];
  /** The layers of this node and of every node above it, in the router's order. */
  along: Layer[];
  children: Map<string, Node>;
}

interface RouterInternals {
  exclusive?: boolean;
  host?: unknown;
  _getRequestPath(ctx: Koa.Context): string;
  _storeMatchedRoutes(ctx: Koa.Context, found: MatchResult): void;
  _setMatchedRouteInfo(ctx: Koa.Context, layers: Layer[]): void;
}

type RoutedContext = Koa.Context & {
  router: Router; routeMatched: boolean;
  captures: string[]; params: Record<string, string>; request: { params: Record<string, string> };
  routerPath: string | RegExp; routerName?: string; _matchedRoute: string | RegExp; _matchedRouteName?: string;
};

// What path-to-regexp gives a meaning to: a segment holding any of these is not matched literally.
const SPECIAL = /[:*{}()[\]+?!\\]/;

/**
 * The leading path segments a layer's path always starts with (lowercased: routes match without regard to case),
 * or none when it is a regular expression. `/api/v1/users/:id` gives [api, v1, users].
 */
export function literalSegments(layer: Layer): string[] {
  const path = layer.path as unknown;
  if (typeof path !== 'string' || (layer.opts as { pathAsRegExp?: boolean }).pathAsRegExp) return [];
  const parts = path.split('/').slice(1);
  const out: string[] = [];
  for (const [i, part] of parts.entries()) {
    if (SPECIAL.test(part)) break;
    // The last part of the path is a whole segment only when the layer matches to the end.
    if (i === parts.length - 1 && (part === '' || (layer.opts as { end?: boolean }).end === false)) break;
    out.push(part.toLowerCase());
  }
  return out;
}

/** Lowercases ASCII letters only, so no character turns into several (the positions of the segments stay). */
const asciiLower = (s: string) => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());

/**
 * @koa/router tries every layer's regular expression on every request (hundreds here) and composes the matched layers'
 * middleware anew for each request. This gives a router a `match` with the same answer that only tries the layers
 * whose leading literal segments the path has (a tree of segments holds each layer where its literal segments end; a
 * request takes the layers along its own segments, in the router's order; rebuilt when routes are added), and a
 * dispatch that runs a matched layer's middleware composed once. Call it before `router.routes()`.
 */
export function indexRoutes(router: Router): Router {
  const scanAll = router.match.bind(router);
  let root: Node | null = null;
  let indexedLength = -1;

  const build = () => {
    const fresh: Node = { layers: [], along: [], children: new Map() };
    router.stack.forEach((layer, position) => {
      let node = fresh;
      for (const segment of literalSegments(layer)) {
        let child = node.children.get(segment);
        if (!child) node.children.set(segment, (child = { layers: [], along: [], children: new Map() }));
        node = child;
      }
      node.layers.push(position);
    });
    const fill = (node: Node, above: number[]) => {
      const positions = [...above, ...node.layers].sort((a, b) => a - b);
      node.along = positions.map((p) => router.stack[p]);
      for (const child of node.children.values()) fill(child, positions);
    };
    fill(fresh, []);
    root = fresh;
    indexedLength = router.stack.length;
  };

  /** The layers that may match `path`: those of the deepest node its segments reach, and of every node above. */
  const candidates = (path: string): Layer[] => {
    if (!root || indexedLength !== router.stack.length) build();
    let node = root!;
    let from = 1;
    const lower = asciiLower(path);
    while (from <= lower.length) {
      const end = lower.indexOf('/', from);
      const child = node.children.get(lower.slice(from, end === -1 ? undefined : end));
      if (!child) break;
      node = child;
      if (end === -1) break;
      from = end + 1;
    }
    return node.along;
  };

  router.match = (path: string, method: string): MatchResult => {
    if (typeof path !== 'string' || !path.startsWith('/')) return scanAll(path, method);
    const result: MatchResult = { path: [], pathAndMethod: [], route: false };
    const verb = method.toUpperCase();
    for (const layer of candidates(path)) {
      if (!layer.match(path)) continue;
      result.path.push(layer);
      if (layer.methods.length === 0 || layer.methods.includes(verb)) {
        result.pathAndMethod.push(layer);
        if (layer.methods.length > 0) result.route = true;
      }
    }
    return result;
  };

  const internals = router as unknown as RouterInternals;
  const own = ['_getRequestPath', '_storeMatchedRoutes', '_setMatchedRouteInfo'] as const;
  if (own.every((name) => typeof internals[name] === 'function') && !internals.exclusive && !internals.host) {
    const original = router.middleware();
    const composed = new WeakMap<Layer, { size: number; run: compose.ComposedMiddleware<Koa.ParameterizedContext> }>();
    const stackOf = (layer: Layer) => {
      let kept = composed.get(layer);
      if (!kept || kept.size !== layer.stack.length) composed.set(layer, (kept = { size: layer.stack.length, run: compose(layer.stack as Koa.Middleware[]) }));
      return kept.run;
    };
    // @koa/router's dispatch, without composing the matched layers anew: the context gets what it sets, and before each
    // matched layer's middleware, that layer's params and route. Anything else (no route matched) goes to the original.
    const dispatch = (ctx: Koa.Context, next: Koa.Next) => {
      const requestPath = internals._getRequestPath(ctx);
      const found = router.match(requestPath, ctx.method);
      if (!found.route) return original(ctx as never, next);
      internals._storeMatchedRoutes(ctx, found);
      const routed = ctx as RoutedContext;
      routed.router = router;
      routed.routeMatched = true;
      const layers = found.pathAndMethod;
      internals._setMatchedRouteInfo(ctx, layers);
      const run = (i: number): Promise<unknown> => {
        if (i === layers.length) return next();
        const layer = layers[i];
        routed.captures = layer.captures(requestPath);
        routed.request.params = layer.params(requestPath, routed.captures || [], routed.params);
        routed.params = routed.request.params;
        routed.routerPath = layer.path;
        routed.routerName = layer.name || undefined;
        routed._matchedRoute = layer.path;
        if (layer.name) routed._matchedRouteName = layer.name;
        return stackOf(layer)(ctx, () => run(i + 1));
      };
      try {
        return run(0);
      } catch (err) {
        return Promise.reject(err);
      }
    };
    Object.assign(dispatch, { router });
    router.middleware = router.routes = () => dispatch as unknown as ReturnType<Router['routes']>;
  }
  return router;
}
