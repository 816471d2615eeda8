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
