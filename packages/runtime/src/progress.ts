/** Where progress goes: a writable stream, usually `process.stderr` (results stay on stdout). */
export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean | undefined;
}

export interface ProgressOptions {
  readonly stream: ProgressStream;
  /** The caller's environment (`process.env`): `CI` or `FORGEJO_FLEET_CI` set means quiet. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Overrides the stream's `isTTY`. */
  readonly isTTY?: boolean;
  readonly now?: () => number;
  /** When quiet, still write the start and end lines (default true; off where the output already says both). */
  readonly announce?: boolean;
  /** Least time between two redraws of the terminal line (default 100 ms). */
  readonly redrawMs?: number;
}

export interface Progress {
  /** Advances by `n` (default 1); `note` replaces the note shown after the count. */
  tick(n?: number, note?: string): void;
  /** Sets the count outright; a changed note is drawn at once. */
  update(done: number, note?: string): void;
  /** A line that stays (a check's result): printed above the progress line on a terminal, dropped when quiet. */
  line(text: string): void;
  /** Wipes the terminal line so another stream (stdout) can print; the next update redraws it. */
  clear(): void;
  /** Ends the progress with a final line. */
  done(note?: string): void;
}

/** Quiet (CI logs, pipes) unless the stream is a terminal and no CI marker is set. */
export function isInteractive(options: Pick<ProgressOptions, 'stream' | 'env' | 'isTTY'>): boolean {
  const env = options.env ?? {};
  if (nonEmpty(env.CI) || nonEmpty(env.FORGEJO_FLEET_CI)) return false;
  return options.isTTY ?? options.stream.isTTY === true;
}

function nonEmpty(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

const CLEAR_LINE = '\r\u001b[K';

/**
 * Progress of long work (`total` steps, or undefined when unknown). On a terminal one line is
 * redrawn in place with `\r`, at most every `redrawMs`; in CI logs and pipes only a start and an
 * end line are written, so logs stay readable however long the work is.
 */
export function progress(label: string, total: number | undefined, options: ProgressOptions): Progress {
  const { stream } = options;
  const now = options.now ?? (() => Date.now());
  const redrawMs = options.redrawMs ?? 100;
  const interactive = isInteractive(options);
  const announce = options.announce ?? true;
  const started = now();
  let count = 0;
  let note = '';
  let lastDraw = Number.NEGATIVE_INFINITY;
  let finished = false;

  const status = () => {
    // Without a total and a count, the note alone says how far the work is (chaos reports so).
    const of =
      total !== undefined ? `${count}/${total} (${percent(count, total)})` : count > 0 ? `${count}` : '';
    return `${label}:${of === '' ? '' : ` ${of}`}${note === '' ? '' : ` ${note}`}`;
  };
  const draw = (force: boolean) => {
    if (!interactive || finished) return;
    const at = now();
    if (!force && at - lastDraw < redrawMs) return;
    lastDraw = at;
    stream.write(`${CLEAR_LINE}${status()}`);
  };

  if (!interactive && announce)
    stream.write(`${label}: started${total === undefined ? '' : ` (${total})`}\n`);
  draw(true);
  return {
    tick(n = 1, text) {
      count += n;
      if (text !== undefined) note = text;
      draw(total !== undefined && count >= total);
    },
    update(done, text) {
      // A new note names a new stage (the next check): worth a redraw at once.
      const changed = text !== undefined && text !== note;
      count = done;
      if (text !== undefined) note = text;
      draw(changed);
    },
    line(text) {
      if (!interactive || finished) return;
      stream.write(`${CLEAR_LINE}${text}\n`);
      draw(true);
    },
    clear() {
      if (!interactive || finished) return;
      stream.write(CLEAR_LINE);
      lastDraw = Number.NEGATIVE_INFINITY;
    },
    done(text) {
      if (finished) return;
      if (text !== undefined) note = text;
      const seconds = ((now() - started) / 1000).toFixed(1);
      if (interactive || announce)
        stream.write(`${interactive ? CLEAR_LINE : ''}${status()}, done in ${seconds}s\n`);
      finished = true;
    },
  };
}

function percent(done: number, total: number): string {
  return total <= 0 ? '100%' : `${Math.min(100, Math.floor((done / total) * 100))}%`;
}
