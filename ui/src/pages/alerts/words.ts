// How the compliance log's values read on the page.

/** The decisions of the log (alerts_log.DECISIONS) as words. */
export const DECISIONS: Record<string, string> = {
  relay: "relayed",
  filter: "filtered",
  duplicate: "duplicate",
  cancel: "cancel",
  rejected: "rejected",
};

export function decided(decision: string): string {
  return DECISIONS[decision] ?? decision;
}

/** Engine frames (48 kHz) as milliseconds. */
export function latency(frames: number | null | undefined): string {
  return frames === null || frames === undefined ? "–" : `${Math.round(frames / 48)} ms`;
}

/** YYYY-MM of ``date`` (YYYY-MM-DD). */
export function monthOf(date: string): string {
  return date.slice(0, 7);
}
