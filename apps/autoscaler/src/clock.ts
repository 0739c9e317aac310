// dispatch/ still imports the clock from here until it moves onto packages/dispatch-api; then delete.
export { type Clock, systemClock } from '@forgejo-fleet/runtime';
