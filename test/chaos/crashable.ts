/**
 * A simulated process that can die at any await: once `life.dead` is set, every call through its
 * wrappers never settles, whether it had not started yet (the process died before the call) or
 * had already reached the other side (the answer is lost). The same idea as the dispatcher's
 * lifecycle-world fixture, applied to every store, Forgejo, provider and HTTP call of a process.
 */
export interface Life {
  dead: boolean;
  readonly name: string;
}

/** Asked before and after each call: may kill the process right there. */
export type CrashPoint = (life: Life, where: string) => void;

export function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

export async function guarded<T>(
  life: Life,
  where: string,
  crash: CrashPoint,
  call: () => Promise<T>,
): Promise<T> {
  crash(life, `before ${where}`);
  if (life.dead) return never();
  const result = await call();
  crash(life, `after ${where}`);
  if (life.dead) return never();
  return result;
}

/** Every method of `target` goes through `guarded` (store, Forgejo client, provider). */
export function guardAll<T extends object>(target: T, life: Life, crash: CrashPoint, label: string): T {
  return new Proxy(target, {
    get(object, key, receiver) {
      const value: unknown = Reflect.get(object, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        guarded(life, `${label}.${String(key)}`, crash, () =>
          Promise.resolve(Reflect.apply(value, object, args) as unknown),
        );
    },
  });
}
