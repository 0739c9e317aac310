import { describe, expect, it } from 'vitest';
import { describeErrorBody } from './error-body.js';

describe('describeErrorBody', () => {
  it.each([
    [
      '{"message":"token is required","url":"https://h/api/swagger"}',
      'application/json',
      'token is required',
    ],
    [
      '{"message":"Not Found","url":"u","errors":["runner not found"]}',
      'application/json',
      'Not Found (runner not found)',
    ],
    ['{"message":"x","errors":null}', undefined, 'x'],
    ['{"message":""}', 'application/json', '(no message)'],
    ['{"error":"other"}', 'application/json', '{"error":"other"}'],
    [
      '<html><head><title> 503 Service\nUnavailable </title></head></html>',
      'text/html',
      'HTML page "503 Service Unavailable"',
    ],
    ['<!DOCTYPE html><body>no title</body>', undefined, 'HTML page'],
    ['  upstream\n connect error  ', 'text/plain', 'upstream connect error'],
    ['', undefined, '(empty body)'],
    ['x'.repeat(300), 'text/plain', `${'x'.repeat(200)}…`],
  ])('%j (%s) -> %j', (text, type, expected) => {
    expect(describeErrorBody(text, type)).toBe(expected);
  });
});
