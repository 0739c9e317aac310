import type { Clock } from '@forgejo-fleet/runtime';
import type { HcloudApi } from './api.js';
import type { HetznerProviderOptions } from './config.js';
import { ImageList } from './schema.js';

/** How long the newest snapshot of a selector is reused before asking again (budget: 1 req/s). */
export const IMAGE_CACHE_MS = 10 * 60_000;

export class NoImageError extends Error {
  override readonly name = 'NoImageError';
}

/**
 * The `image` value of a create: a name or id as configured, or the id of the newest available
 * snapshot matching a label selector (looked up at most every IMAGE_CACHE_MS).
 */
export function imageResolver(api: HcloudApi, image: HetznerProviderOptions['image'], clock: Clock) {
  let cached: { id: string; at: number } | undefined;
  return async function resolve(signal: AbortSignal | undefined): Promise<string> {
    if (typeof image === 'string') return image;
    if ('id' in image) return String(image.id);
    if (cached !== undefined && clock.now() - cached.at < IMAGE_CACHE_MS) return cached.id;
    const { images } = await api.call('GET', '/images', ImageList, {
      query: {
        type: 'snapshot',
        status: 'available',
        label_selector: image.label_selector,
        sort: 'created:desc',
        per_page: 1,
      },
      signal,
    });
    const newest = images[0];
    if (newest === undefined)
      throw new NoImageError(`no available snapshot matches label_selector "${image.label_selector}"`);
    cached = { id: String(newest.id), at: clock.now() };
    return cached.id;
  };
}
