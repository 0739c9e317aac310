import { describe, expect, it } from 'vitest';
import { podLifetimes } from './lifetimes.js';

describe('pod lifetimes per job handle', () => {
  it.each([
    [
      'a replacement made after the first pod was deleted',
      [
        ['a', 0],
        ['b', 20],
      ],
      [['a', 10]],
      [],
    ],
    [
      'a replacement made while the first pod was still live',
      [
        ['a', 0],
        ['b', 20],
      ],
      [['a', 30]],
      ['h'],
    ],
    [
      'a replacement made while the first pod never ended',
      [
        ['a', 0],
        ['b', 20],
      ],
      [],
      ['h'],
    ],
    ['one pod, never ended', [['a', 0]], [], []],
  ] as const)('%s', (_, creates, ends, overlapping) => {
    const lives = podLifetimes();
    for (const [name, at] of creates) lives.created('h', name, at);
    for (const [name, at] of ends) lives.ended(name, at);

    expect(lives.overlapping()).toEqual(overlapping);
  });

  it('an end seen twice keeps the first; replacements count pods and the started ones', () => {
    const lives = podLifetimes();
    lives.created('h', 'a', 0);
    lives.ended('a', 10);
    lives.ended('a', 50);
    lives.created('h', 'b', 20);
    lives.created('other', 'c', 0);

    expect(lives.overlapping()).toEqual([]);
    expect(lives.replacements(new Set(['b', 'c']))).toEqual([{ handle: 'h', pods: 2, started: 1 }]);
  });
});
