import type { MachineChoice } from '../provider.js';
import type { Ec2ProviderOptions } from './config.js';

type Market = 'spot' | 'on-demand';

function markets(spot: Ec2ProviderOptions['spot']): Market[] {
  if (!spot.enabled) return ['on-demand'];
  return spot.fallback_to_on_demand ? ['spot', 'on-demand'] : ['spot'];
}

/**
 * Every (instance type, subnet, market) the provider may launch in, in the operator's order.
 * Markets are the outer loop: every spot pool is tried before paying on-demand prices, because
 * another type or AZ usually has spot capacity when the first one has none. A subnet fixes the
 * availability zone, so it is the choice's location; without subnets the default VPC picks one.
 */
export function ec2Choices(config: Ec2ProviderOptions): MachineChoice[] {
  const subnets: (string | undefined)[] = config.subnets.length > 0 ? config.subnets : [undefined];
  const choices: MachineChoice[] = [];
  for (const market of markets(config.spot)) {
    for (const type of config.instance_types) {
      for (const subnet of subnets) {
        const price = config.hourly_prices?.[`${type}/${market}`] ?? config.hourly_prices?.[type];
        choices.push({
          key: `${type}@${subnet ?? 'default'}/${market}`,
          machine: type,
          ...(subnet === undefined ? {} : { location: subnet }),
          market,
          ...(price === undefined ? {} : { hourlyPrice: price }),
        });
      }
    }
  }
  return choices;
}
