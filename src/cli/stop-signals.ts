/**
 * Ctrl-C and SIGTERM for a training command: the first asks the run to stop after its current
 * step (it evaluates and saves), a second quits at once (exit 130). Handlers are removed when
 * `body` settles.
 */
export async function withStopSignals<T>(announce: () => void, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130); // a second Ctrl-C: stop now
    announce();
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
