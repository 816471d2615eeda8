// Times in the station's time zone (never the browser's), levels in dB and LUFS.

export function clock(iso: string | null | undefined, timeZone: string): string {
  if (!iso) return "–";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "–";
  return new Intl.DateTimeFormat("en-GB", {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).format(at);
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  const total = Math.max(0, Math.round(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return `${minutes}:${seconds}`;
}

export function level(value: number | null | undefined, unit: string): string {
  return value === null || value === undefined || !Number.isFinite(value)
    ? "–"
    : `${value.toFixed(1)} ${unit}`;
}

export function describe(item: { title?: string | null; artist?: string | null } | null): string {
  if (!item) return "–";
  const title = item.title || "untitled";
  return item.artist ? `${item.artist} — ${title}` : title;
}

/** The UTC instant (ISO 8601) of ``date`` (YYYY-MM-DD) at 00:00 in ``timeZone``. */
export function zonedMidnight(date: string, timeZone: string): string {
  const [y, m, d] = date.split("-").map(Number);
  if (!y || !m || !d) throw new Error(`not a date: ${date}`);
  const guess = Date.UTC(y, m - 1, d);
  // the zone's offset at that moment, read back through Intl ("GMT+01:00")
  const offsetAt = (at: number): number => {
    const name = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
      .formatToParts(new Date(at))
      .find((p) => p.type === "timeZoneName")?.value ?? "GMT";
    const found = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
    if (!found) return 0;
    const sign = found[1] === "-" ? -1 : 1;
    return sign * (Number(found[2]) * 60 + Number(found[3] ?? 0)) * 60_000;
  };
  // twice: the offset at the guess may differ from the one at the answer (DST days)
  let at = guess - offsetAt(guess);
  at = guess - offsetAt(at);
  return new Date(at).toISOString();
}

/** Today (YYYY-MM-DD) in ``timeZone``, ``days`` from now. */
export function zonedToday(timeZone: string, days = 0): string {
  const at = new Date(Date.now() + days * 86_400_000);
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(at);
}

export function dateTime(iso: string | null | undefined, timeZone: string): string {
  if (!iso) return "–";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "–";
  return new Intl.DateTimeFormat("en-GB", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).format(at);
}
