/**
 * Route choice, shared by the dispatcher, the autoscaler and the config checks.
 *
 * A job matches a route when every label of its `runs-on` is one of the route's labels (the
 * same predicate Forgejo uses to hand a job to a runner). Among matching routes the one with
 * the fewest labels wins: it is the most specific fit, so a `[linux]` job takes the small
 * generic route, not the GPU route that also lists `linux`. Two matching routes with the same
 * number of labels would be a coin toss, so the config check rejects such route sets.
 */
export interface RouteLabels {
  readonly name: string;
  readonly labels: readonly string[];
}

export function routeMatches(route: RouteLabels, runsOn: readonly string[]): boolean {
  return runsOn.length > 0 && runsOn.every((label) => route.labels.includes(label));
}

export function selectRoute<R extends RouteLabels>(
  routes: readonly R[],
  runsOn: readonly string[],
): R | undefined {
  let best: R | undefined;
  for (const route of routes) {
    if (!routeMatches(route, runsOn)) continue;
    if (best === undefined || route.labels.length < best.labels.length) best = route;
  }
  return best;
}

export interface RouteAmbiguity {
  readonly first: number;
  readonly second: number;
  readonly shared: readonly string[];
}

/**
 * Pairs of routes some job would match equally well. Checking each pair's shared labels is
 * enough: if any runs-on set ties two routes, their full intersection ties them too.
 */
export function findAmbiguousRoutes(routes: readonly RouteLabels[]): RouteAmbiguity[] {
  const found: RouteAmbiguity[] = [];
  for (let i = 0; i < routes.length; i++) {
    for (let j = i + 1; j < routes.length; j++) {
      const a = routes[i] as RouteLabels;
      const b = routes[j] as RouteLabels;
      const shared = a.labels.filter((label) => b.labels.includes(label));
      if (shared.length === 0 || a.labels.length !== b.labels.length) continue;
      // Both match `shared`; they tie unless a smaller route also matches it.
      if (selectRoute(routes, shared)?.labels.length === a.labels.length) {
        found.push({ first: i, second: j, shared });
      }
    }
  }
  return found;
}
