import { describe, expect, it } from 'vitest';
import { html, raw } from './html.js';

describe('html', () => {
  it.each([
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['" onmouseover="x', '&quot; onmouseover=&quot;x'],
    ["it's & more", 'it&#39;s &amp; more'],
  ])('escapes %s', (input, expected) => {
    expect(html`<p title="${input}">${input}</p>`.text).toBe(`<p title="${expected}">${expected}</p>`);
  });

  it('keeps nested html and raw, flattens arrays and drops empty values', () => {
    const items = ['a<', 'b'].map((x) => html`<li>${x}</li>`);
    expect(html`<ul>${items}</ul>${null}${undefined}${false}${raw('<hr>')}${0}`.text).toBe(
      '<ul><li>a&lt;</li><li>b</li></ul><hr>0',
    );
  });
});
