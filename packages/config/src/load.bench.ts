import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bench, describe } from 'vitest';
import { parseDispatcherConfig } from './dispatcher/load.js';

const file = fileURLToPath(new URL('../../../config.example.yaml', import.meta.url));
const text = readFileSync(file, 'utf8');

describe('config', () => {
  // Start-up cost and the cost of a reload.
  bench('parse config.example.yaml', () => {
    parseDispatcherConfig(text, { file, env: {}, readFile: (path) => `secret-${path}` });
  });
});
