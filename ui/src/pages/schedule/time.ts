// Wall-clock times in the station's zone. The calendar works on "floating" wall times
// (YYYY-MM-DDTHH:MM:SS, no offset): FullCalendar with a named zone and no zone plugin
// keeps them as they are (its Date objects are UTC-coerced: their UTC fields are the
// wall time), so the grid shows the station's clock whatever the browser's zone is.

/** The zone's offset from UTC (ms) at the instant ``at``. */
export function offsetAt(at: number, timeZone: string): number {
  const name =
    new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
      .formatToParts(new Date(at))
      .find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const found = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
  if (!found) return 0;
  const sign = found[1] === "-" ? -1 : 1;
  return sign * (Number(found[2]) * 60 + Number(found[3] ?? 0)) * 60_000;
}

/** The wall time (YYYY-MM-DDTHH:MM:SS) in ``timeZone`` of an instant. */
export function wallOf(at: string | number | Date, timeZone: string): string {
  const ms = typeof at === "number" ? at : new Date(at).getTime();
  return new Date(ms + offsetAt(ms, timeZone)).toISOString().slice(0, 19);
}

/** The wall time that FullCalendar means by one of its (UTC-coerced) dates. */
export function wallOfCoerced(date: Date): string {
  return date.toISOString().slice(0, 19);
}

/** Milliseconds of a wall time on a uniform clock (for wall-clock differences). */
export function wallMs(wall: string): number {
  return Date.parse(`${wall.length === 16 ? `${wall}:00` : wall}Z`);
}

export function wallAdd(wall: string, ms: number): string {
  return new Date(wallMs(wall) + ms).toISOString().slice(0, 19);
}

function offsetText(ms: number): string {
  const sign = ms < 0 ? "-" : "+";
  const minutes = Math.abs(ms) / 60_000;
  return `${sign}${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

/** An ISO 8601 instant with the zone's offset for a wall time in ``timeZone``. */
export function wallToIso(wall: string, timeZone: string): string {
  const guess = wallMs(wall);
  // twice: the offset at the guess may differ from the one at the answer (DST days)
  let at = guess - offsetAt(guess, timeZone);
  at = guess - offsetAt(at, timeZone);
  return wallOf(at, timeZone) + offsetText(offsetAt(at, timeZone));
}

export function nowWall(timeZone: string): string {
  return wallOf(Date.now(), timeZone);
}

const DAY = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", weekday: "short", day: "numeric", month: "short" });
const LONG_DAY = new Intl.DateTimeFormat("en-GB", {
  timeZone: "UTC",
  weekday: "long",
  day: "numeric",
  month: "long",
  year: "numeric",
});

/** "Mon 14 Dec" for a wall time. */
export function dayText(wall: string): string {
  return DAY.format(new Date(wallMs(wall)));
}

/** "Monday 14 December 2026" for a wall date or time. */
export function longDayText(wall: string): string {
  return LONG_DAY.format(new Date(wallMs(wall.length === 10 ? `${wall}T00:00:00` : wall)));
}

/** "10:00" for a wall time. */
export function hm(wall: string): string {
  return wall.slice(11, 16);
}

/** "1 hour", "2 hours 30 minutes", "45 minutes". */
export function lengthText(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  const parts = [];
  if (h) parts.push(`${h} hour${h === 1 ? "" : "s"}`);
  if (m || !h) parts.push(`${m} minute${m === 1 ? "" : "s"}`);
  return parts.join(" ");
}
