// Run as a child process: writes the intent and a transition, then dies by SIGKILL before any
// close or checkpoint, the way the dispatcher dies if the OOM killer strikes mid-dispatch.
import { openSqliteStore } from '../sqlite.js';
import { newDispatch, T0 } from './dispatch.js';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: crash-after-insert.ts DB_PATH');
const store = openSqliteStore(path);
await store.insert(newDispatch('d-crash', { handle: 'h-crash' }));
await store.transition('d-crash', ['accepted'], 'registering', T0 + 1);
process.kill(process.pid, 'SIGKILL');
