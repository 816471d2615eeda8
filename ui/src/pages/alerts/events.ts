// The station's alert events (alert.received, alert.aired, alert.ended) from the API's
// Server-Sent Events stream, so the log shows an alert as it arrives or airs.
import { refreshTokens } from "../../lib/api";

export const ALERT_EVENTS = ["alert.received", "alert.aired", "alert.ended"] as const;
const RETRY_MS = 5_000;

/** Call ``onevent`` on each alert event of ``station``; the function returned stops it. */
export function followAlerts(station: string, onevent: (type: string) => void): () => void {
  let source: EventSource | null = null;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  async function open() {
    // NOTE: EventSource cannot send headers: the token goes in the query, as the API
    // allows for this route; a stale one is refreshed first (the stream would be refused)
    const expiresAt = Number(sessionStorage.getItem("expiresAt") || 0);
    if (expiresAt && expiresAt - Date.now() < 30_000) await refreshTokens();
    if (stopped) return;
    const query = new URLSearchParams({
      station,
      types: ALERT_EVENTS.join(","),
      token: sessionStorage.getItem("access") ?? "",
    });
    const opened = new EventSource(`/api/v1/events/stream?${query}`);
    for (const type of ALERT_EVENTS) opened.addEventListener(type, () => onevent(type));
    opened.onerror = () => {
      // the browser reconnects by itself unless the server refused the stream
      if (opened.readyState === EventSource.CLOSED && !stopped) {
        retry = setTimeout(() => void open(), RETRY_MS);
      }
    };
    source = opened;
  }

  void open();
  return () => {
    stopped = true;
    clearTimeout(retry);
    source?.close();
  };
}
