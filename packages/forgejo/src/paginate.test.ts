import { describe, expect, it } from 'vitest';
import { collectPages, hasNextLink } from './paginate.js';

describe('hasNextLink', () => {
  it.each([
    [
      '<https://h/api/v1/x?page=2&limit=50>; rel="next",<https://h/api/v1/x?page=3&limit=50>; rel="last"',
      true,
    ],
    [
      '<https://h/api/v1/x?page=1&limit=50>; rel="first",<https://h/api/v1/x?page=2&limit=50>; rel="prev"',
      false,
    ],
    ['<https://h/x?page=2>; rel=next', true],
    ['<https://h/x?page=2>; rel="prev next"', true],
    ['<https://h/x?page=2>; rel="nextish"', false],
    ['', false],
  ])('%s -> %s', (link, expected) => {
    expect(hasNextLink(link)).toBe(expected);
  });
});

describe('collectPages', () => {
  it('stops after the page limit guard when a server keeps promising more', async () => {
    let requests = 0;
    const result = await collectPages(async (page) => {
      requests++;
      return { items: [{ id: page }], header: (name) => (name === 'link' ? '<x>; rel="next"' : undefined) };
    });

    expect(requests).toBe(1_000);
    expect(result).toHaveLength(1_000);
  });
});
