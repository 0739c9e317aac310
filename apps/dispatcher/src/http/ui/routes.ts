import { randomBytes } from 'node:crypto';
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { ServiceError } from '../../service/errors.js';
import type { Caller } from '../../service/visibility.js';
import type { ApiClient } from '../auth.js';
import { limitBody } from '../body.js';
import type { AppEnv } from '../env.js';
import { fromServiceError } from '../errors.js';
import type { UiDeps, UiService } from './deps.js';
import { sameOrigin, uiSecurityHeaders } from './headers.js';
import { type Html, html } from './html.js';
import { page, type Section } from './layout.js';
import { decisionsBody } from './pages/decisions.js';
import { dispatchBody } from './pages/dispatch.js';
import { dispatchesBody } from './pages/dispatches.js';
import { latencyBody } from './pages/latency.js';
import { overviewBody } from './pages/overview.js';
import { BadQuery, decisionsQuery, dispatchesQuery } from './query.js';
import { createSessions, type Sessions } from './session.js';
import { STYLESHEET } from './style.js';

/** Form posts are a token or a CSRF field: anything bigger is not ours. */
const MAX_FORM_BYTES = 8 * 1024;

const SignInForm = z.object({
  token: z.string().trim().min(1, 'enter an API client token').max(4096, 'too long for an API client token'),
});
const CsrfForm = z.object({ csrf: z.string().min(1, 'missing CSRF token').max(200) });
const DispatchId = z.string().min(1).max(64);

export interface UiOptions {
  readonly service: UiService;
  readonly clients: readonly ApiClient[];
  readonly registry?: Registry | undefined;
  readonly now?: () => number;
  /** CSRF HMAC key (default: 32 random bytes per process). */
  readonly csrfKey?: Uint8Array;
  /** Trust `X-Forwarded-Proto: https` for the cookie's `Secure` flag (see docs/ui.md). */
  readonly trustForwardedProto?: boolean;
}

type UiEnv = AppEnv & { Variables: { session: { caller: Caller; token: string } } };

/** A page the request cannot have: rendered with its status, never JSON. */
class UiError extends Error {
  override readonly name = 'UiError';
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The status page at `/ui`: server-rendered HTML over the service's read paths, each called with
 * the signed-in client, so the page shows exactly what the API shows that client. No script.
 */
export function uiRoutes(options: UiOptions): Hono<UiEnv> {
  const deps: UiDeps = {
    service: options.service,
    now: options.now ?? Date.now,
    ...(options.registry ? { registry: options.registry } : {}),
  };
  const sessions = createSessions({
    clients: options.clients,
    csrfKey: options.csrfKey ?? randomBytes(32),
    trustForwardedProto: options.trustForwardedProto ?? false,
  });
  const ui = new Hono<UiEnv>();
  ui.use(uiSecurityHeaders());
  ui.use(
    limitBody({
      maxSize: MAX_FORM_BYTES,
      onError: () => {
        throw new UiError(413, `form over ${MAX_FORM_BYTES} bytes`);
      },
    }),
  );

  ui.get('/style.css', (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(STYLESHEET, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });

  ui.get('/sign-in', (c) => {
    if (sessions.caller(c)) return c.redirect('/ui', 303);
    return c.html(signInPage().text);
  });

  ui.post('/sign-in', async (c) => {
    refuseCrossOrigin(c);
    const form = SignInForm.safeParse(await c.req.parseBody());
    if (!form.success) return c.html(signInPage(form.error.issues[0]?.message).text, 400);
    if (!sessions.clientFor(form.data.token)) {
      c.get('log')?.info({ ui: true }, 'status page sign-in refused');
      return c.html(signInPage('unknown token').text, 401);
    }
    sessions.signIn(c, form.data.token);
    return c.redirect('/ui', 303);
  });

  // Everything below needs a session.
  ui.use(async (c, next) => {
    const session = sessions.caller(c);
    if (!session) return c.redirect('/ui/sign-in', 303);
    c.set('session', session);
    await next();
  });

  ui.post('/sign-out', async (c) => {
    await requireCsrf(c, sessions);
    sessions.signOut(c);
    return c.redirect('/ui/sign-in', 303);
  });

  ui.get('/', async (c) => render(c, sessions, 'Overview', 'overview', await overviewBody(deps, caller(c))));

  ui.get('/dispatches', async (c) =>
    render(
      c,
      sessions,
      'Dispatches',
      'dispatches',
      await dispatchesBody(deps, caller(c), dispatchesQuery(c.req.query())),
    ),
  );

  ui.get('/dispatches/:id', async (c) => {
    const id = dispatchId(c);
    const record = await deps.service.get(id, caller(c));
    const csrf = sessions.csrfFor(c.get('session').token);
    return render(
      c,
      sessions,
      `Dispatch ${record.id}`,
      'dispatches',
      await dispatchBody(deps, caller(c), record, csrf),
    );
  });

  ui.post('/dispatches/:id/cancel', async (c) => {
    await requireCsrf(c, sessions);
    const record = await deps.service.cancel(dispatchId(c), caller(c));
    c.get('log')?.info({ dispatchId: record.id, client: caller(c).name }, 'cancelled from the status page');
    return c.redirect(`/ui/dispatches/${encodeURIComponent(record.id)}`, 303);
  });

  ui.get('/decisions', async (c) =>
    render(
      c,
      sessions,
      'Decision stream',
      'decisions',
      await decisionsBody(deps, caller(c), decisionsQuery(c.req.query())),
    ),
  );

  ui.get('/latency', async (c) =>
    render(c, sessions, 'Per-phase latency', 'latency', await latencyBody(deps, caller(c))),
  );

  ui.all('*', () => {
    throw new UiError(404, 'No such page.');
  });

  ui.onError((error, c) => {
    const { status, message, fields } = describe(error);
    if (status === 500) c.get('log')?.error({ err: errorText(error) }, 'status page failed');
    const session = c.var.session;
    const body = html`<p class="error">${message}</p>${
      fields.length > 0
        ? html`<ul>${fields.map((f) => html`<li><code>${f.path}</code>: ${f.message}</li>`)}</ul>`
        : ''
    }<p><a href="/ui">Back to the overview</a></p>`;
    const title =
      status === 404 ? 'Not found' : status === 403 ? 'Refused' : status === 400 ? 'Bad request' : 'Error';
    const shell = session
      ? page({ title, body, client: { name: session.caller.name, csrf: sessions.csrfFor(session.token) } })
      : page({ title, body });
    return c.html(shell.text, status);
  });

  return ui;
}

function caller(c: Context<UiEnv>): Caller {
  return c.get('session').caller;
}

function dispatchId(c: Context<UiEnv>): string {
  const parsed = DispatchId.safeParse(c.req.param('id'));
  // Too long or empty cannot be an id: the same 404 as an unknown one.
  if (!parsed.success) throw new UiError(404, 'No such dispatch.');
  return parsed.data;
}

function render(c: Context<UiEnv>, sessions: Sessions, title: string, section: Section, body: Html) {
  const session = c.get('session');
  return c.html(
    page({
      title,
      section,
      body,
      refresh: true,
      client: { name: session.caller.name, csrf: sessions.csrfFor(session.token) },
    }).text,
  );
}

function refuseCrossOrigin(c: Context): void {
  // Host as the browser sent it (a proxy in front must pass it through); the URL's host without one.
  if (!sameOrigin(c.req.header('origin'), c.req.header('host') ?? new URL(c.req.url).host)) {
    throw new UiError(403, 'This form was sent from another site.');
  }
}

async function requireCsrf(c: Context<UiEnv>, sessions: Sessions): Promise<void> {
  refuseCrossOrigin(c);
  const form = CsrfForm.safeParse(await c.req.parseBody());
  if (!form.success || !sessions.csrfValid(c.get('session').token, form.data.csrf)) {
    throw new UiError(403, 'The form expired or did not come from this page: reload it and try again.');
  }
}

function describe(error: unknown): {
  status: ContentfulStatusCode;
  message: string;
  fields: readonly { path: string; message: string }[];
} {
  if (error instanceof UiError) return { status: error.status, message: error.message, fields: [] };
  if (error instanceof BadQuery)
    return { status: 400, message: 'The filters are not valid.', fields: error.fields };
  if (error instanceof ServiceError) {
    const api = fromServiceError(error);
    // Unknown and another scope's dispatch: one page, word for word.
    if (api.code === 'not_found') return { status: 404, message: 'No such dispatch.', fields: [] };
    return { status: api.status, message: api.message, fields: [] };
  }
  if (error instanceof Error && error.name === 'InvalidCursorError') {
    return {
      status: 400,
      message: 'The page link is not valid.',
      fields: [{ path: 'cursor', message: error.message }],
    };
  }
  return { status: 500, message: 'Internal error.', fields: [] };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function signInPage(error?: string): Html {
  return page({
    title: 'Sign in',
    body: html`<form method="post" action="/ui/sign-in">
${error ? html`<p class="error" role="alert" id="sign-in-error">${error}</p>` : ''}
<label for="token">API client token
<input id="token" name="token" type="password" autocomplete="off" required${error ? html` aria-describedby="sign-in-error"` : ''}></label>
<p class="muted">The token of a client from the dispatcher's <code>clients</code>; you will see only its scopes. It is kept in an HttpOnly cookie for 12 hours.</p>
<button type="submit">Sign in</button>
</form>`,
  });
}
