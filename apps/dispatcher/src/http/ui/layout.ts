import { type Html, html } from './html.js';

export type Section = 'overview' | 'dispatches' | 'decisions' | 'latency';

const NAV: readonly { section: Section; href: string; label: string }[] = [
  { section: 'overview', href: '/ui', label: 'Overview' },
  { section: 'dispatches', href: '/ui/dispatches', label: 'Dispatches' },
  { section: 'decisions', href: '/ui/decisions', label: 'Decisions' },
  { section: 'latency', href: '/ui/latency', label: 'Latency' },
];

/** Seconds between automatic reloads of a page that shows live data (plain meta refresh: no script). */
export const REFRESH_SECONDS = 15;

export interface PageOptions {
  readonly title: string;
  readonly body: Html;
  readonly section?: Section;
  /** The signed-in client (absent on the sign-in page). */
  readonly client?: { readonly name: string; readonly csrf: string };
  readonly refresh?: boolean;
}

/** The page shell: a skip link, a banner with the navigation and sign-out, one `main`. */
export function page(options: PageOptions): Html {
  const nav = options.client
    ? html`<nav aria-label="Sections"><ul>${NAV.map(
        (item) =>
          html`<li><a href="${item.href}"${item.section === options.section ? html` aria-current="page"` : ''}>${item.label}</a></li>`,
      )}</ul></nav>
      <form class="signout" method="post" action="/ui/sign-out">
        <input type="hidden" name="csrf" value="${options.client.csrf}">
        <span>Signed in as <strong>${options.client.name}</strong></span>
        <button type="submit">Sign out</button>
      </form>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${options.refresh ? html`<meta http-equiv="refresh" content="${REFRESH_SECONDS}">` : ''}
<title>${options.title} · forgejo-fleet</title>
<link rel="stylesheet" href="/ui/style.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><p class="brand">forgejo-fleet</p>${nav}</header>
<main id="main" tabindex="-1">
<h1>${options.title}</h1>
${options.body}
</main>
</body>
</html>`;
}
