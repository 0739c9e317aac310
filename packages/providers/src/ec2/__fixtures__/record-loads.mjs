// Preloaded by lazy.test.ts: notes in $LOADED_LOG every ES module of @aws-sdk, undici or execa
// the process resolves (load-fleet.mjs adds the CommonJS ones from require.cache).
import { register } from 'node:module';

const log = process.env.LOADED_LOG;
const WATCHED = /node_modules\/(@aws-sdk|undici|execa)\//;

const hook = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const found = await next(specifier, context);
  if (${WATCHED}.test(found.url)) appendFileSync(${JSON.stringify(log)}, found.url + '\\n');
  return found;
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
