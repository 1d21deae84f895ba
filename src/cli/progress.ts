/**
 * A progress bar on stderr for long runs, only when stderr is a terminal (silent when piped
 * or in CI), so that stdout stays clean for scripts. The bar's library is loaded only then.
 */
export interface Progress {
  update(fraction: number): void;
  stop(): void;
}

export async function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Promise<Progress> {
  if (!stream.isTTY || process.env.CI) return { update() {}, stop() {} };
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% · {duration_formatted}`, stream, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1000, 0);
  return {
    update: (fraction) => bar.update(Math.round(Math.min(1, Math.max(0, fraction)) * 1000)),
    stop: () => bar.stop(),
  };
}

/** Runs `work` with a progress bar that is always stopped, whatever happens. */
export async function withProgress<T>(label: string, work: (update: (fraction: number) => void) => Promise<T>): Promise<T> {
  const bar = await progressBar(label);
  try {
    return await work((fraction) => bar.update(fraction));
  } finally {
    bar.stop();
  }
}
