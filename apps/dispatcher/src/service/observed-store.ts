import type { Store } from '@forgejo-fleet/store';
import type { ServiceObserver } from './observer.js';

/**
 * The store with every successful transition reported to the observer (phase durations for the
 * metrics), so no business function has to remember to report one.
 */
export function observedStore(store: Store, observer: ServiceObserver): Store {
  return {
    ...bind(store),
    async transition(id, from, to, at, patch, options) {
      const record = await store.transition(id, from, to, at, patch, options);
      if (record) {
        const previous = record.transitions.at(-2);
        if (previous) observer.transition(record, previous.state, Math.max(0, at - previous.at));
      }
      return record;
    },
  };
}

function bind(store: Store): Store {
  return {
    storeId: store.storeId,
    insert: (d, options) => store.insert(d, options),
    get: (id) => store.get(id),
    getByHandle: (h) => store.getByHandle(h),
    transition: (...args) => store.transition(...args),
    list: (q) => store.list(q),
    listLive: () => store.listLive(),
    touch: (ids, at) => store.touch(ids, at),
    countLive: () => store.countLive(),
    appendDecision: (d, options) => store.appendDecision(d, options),
    listDecisions: (q) => store.listDecisions(q),
    usage: (since, now) => store.usage(since, now),
    insertWarm: (vm, options) => store.insertWarm(vm, options),
    getWarm: (id) => store.getWarm(id),
    updateWarm: (...args) => store.updateWarm(...args),
    claimWarm: (...args) => store.claimWarm(...args),
    listWarm: () => store.listWarm(),
    prune: (before, limit, options) => store.prune(before, limit, options),
    acquireLease: (...args) => store.acquireLease(...args),
    releaseLease: (...args) => store.releaseLease(...args),
    readLease: (name, now) => store.readLease(name, now),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
