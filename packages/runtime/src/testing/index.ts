export { type FakeClock, fakeClock, flush } from './fake-clock.js';
export { virtualClock } from './virtual-clock.js';
