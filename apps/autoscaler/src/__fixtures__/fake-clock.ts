// dispatch/ tests still import the fake clock from here until that folder moves; then delete.
export { type FakeClock, fakeClock, flush } from '@forgejo-fleet/runtime/testing';
