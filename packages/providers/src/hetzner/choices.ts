import type { MachineChoice } from '../provider.js';
import type { HetznerProviderOptions } from './config.js';

/**
 * server_types × locations in the operator's order, server type first: the first type is the
 * size the operator wants, and another location keeps that size before a different one is tried.
 */
export function hetznerChoices(
  config: Pick<HetznerProviderOptions, 'server_types' | 'locations' | 'hourly_prices'>,
): MachineChoice[] {
  const choices: MachineChoice[] = [];
  for (const type of config.server_types) {
    for (const location of config.locations) {
      const price = config.hourly_prices?.[`${type}@${location}`] ?? config.hourly_prices?.[type];
      choices.push({
        key: `${type}@${location}`,
        machine: type,
        location,
        ...(price === undefined ? {} : { hourlyPrice: price }),
      });
    }
  }
  return choices;
}
