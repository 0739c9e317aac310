/**
 * An AbortSignal that fires on the first SIGINT (Ctrl-C), for verbs that run until the operator
 * stops them. `dispose` removes the handler so a later Ctrl-C ends the process as usual.
 */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}
