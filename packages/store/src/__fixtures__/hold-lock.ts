// Run as a child process: takes the store's owner lock, says so on stdout, then either holds it
// until stdin closes (`hold`) or dies by SIGKILL without releasing anything (`crash`).
import { lockStore } from '../lock.js';

const [path, mode] = process.argv.slice(2);
if (path === undefined || (mode !== 'hold' && mode !== 'crash')) {
  throw new Error('usage: hold-lock.ts STORE_PATH hold|crash');
}
lockStore(path, { host: 'child-host' });
process.stdout.write('locked\n');
if (mode === 'crash') process.kill(process.pid, 'SIGKILL');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
