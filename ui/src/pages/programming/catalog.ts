// What smart block rules and playlists may say, in words. The names mirror the
// planner (src/grimnir/planner/rules.py, smartblock.py, playlists.py): the server
// checks every document, so a name that drifts shows up as its 422, said in the page.

export type Kind = "text" | "number" | "date";

export interface FieldInfo {
  value: string;
  label: string;
  kind: Kind;
  help?: string;
}

export const FIELDS: FieldInfo[] = [
  { value: "title", label: "Title", kind: "text" },
  { value: "artist", label: "Artist", kind: "text" },
  { value: "album", label: "Album", kind: "text" },
  { value: "genre", label: "Genre", kind: "text" },
  { value: "mood", label: "Mood", kind: "text" },
  { value: "label", label: "Record label", kind: "text" },
  { value: "language", label: "Language", kind: "text" },
  { value: "isrc", label: "ISRC", kind: "text" },
  { value: "year", label: "Year", kind: "number" },
  { value: "bpm", label: "BPM", kind: "number" },
  { value: "duration", label: "Length", kind: "number", help: "seconds (210) or m:ss (3:30)" },
  { value: "loudness", label: "Loudness (LUFS)", kind: "number" },
  { value: "play_count", label: "Play count", kind: "number" },
  { value: "added", label: "Added to the library", kind: "date" },
  { value: "last_played", label: "Last played", kind: "date" },
  { value: "custom", label: "Custom tag…", kind: "text", help: "the tag's key, e.g. mood_2" },
];

export const MODIFIERS: Record<Kind, { value: string; label: string }[]> = {
  text: [
    { value: "is", label: "is" },
    { value: "is_not", label: "is not" },
    { value: "contains", label: "contains" },
    { value: "not_contains", label: "does not contain" },
    { value: "starts_with", label: "starts with" },
    { value: "ends_with", label: "ends with" },
  ],
  number: [
    { value: "is", label: "is" },
    { value: "is_not", label: "is not" },
    { value: "greater_than", label: "greater than" },
    { value: "less_than", label: "less than" },
    { value: "between", label: "between (both included)" },
    { value: "in_range", label: "in range (same as between)" },
  ],
  date: [
    { value: "is", label: "is on" },
    { value: "is_not", label: "is not on" },
    { value: "before", label: "before" },
    { value: "after", label: "after" },
    { value: "between", label: "between" },
    { value: "in_range", label: "in the last" },
  ],
};

export const SPAN_UNITS = ["minutes", "hours", "days", "weeks"] as const;

/** Fields that weights and quotas may count (text fields and year). */
export const COUNTABLE = FIELDS.filter((f) => f.kind === "text" && f.value !== "custom").concat(
  FIELDS.filter((f) => f.value === "year"),
);

export const SORTS = [
  { value: "random", label: "Random (weighted)" },
  { value: "newest", label: "Newest first" },
  { value: "oldest", label: "Oldest first" },
  { value: "least_recently_played", label: "Least recently played" },
] as const;

export const OVERFLOWS = [
  { value: "under", label: "Stay under the target", help: "stop before a track would run past the target and its tolerance" },
  { value: "allow_overflow", label: "Allow overflow", help: "the last track may run past the target (the shortest that fits is chosen)" },
  { value: "trim_last", label: "Trim the last track", help: "the last track may run past; it is faded out at the target" },
] as const;

export const RELAXATIONS = [
  { value: "album_separation", label: "Album separation" },
  { value: "artist_separation", label: "Artist separation" },
  { value: "quotas", label: "Quotas" },
  { value: "title_separation", label: "Title (song) separation" },
] as const;

export const ROTATIONS = [
  { value: "default", label: "Whenever scheduled", help: "fills its slot with items in order (or shuffled)" },
  { value: "once_per_n_songs", label: "One item, then N songs between", help: "one item per turn, then at least N other songs before the next" },
  { value: "once_per_n_minutes", label: "One item at most every N minutes", help: "one item per turn, at least N minutes apart" },
  { value: "once_per_hour", label: "One item per clock hour", help: "one item, at most once in each hour of the station's clock" },
] as const;

/** "artist_separation 60→30 min" → words. */
export function relaxation(step: string): string {
  const name = (key: string) => key.replace("_separation", " separation").replace("title ", "title (song) ");
  let m = /^(\w+) ([\d.]+)→([\d.]+) min$/.exec(step);
  if (m?.[1]) return `${name(m[1])} lowered from ${m[2]} to ${m[3]} minutes`;
  m = /^(\w+) dropped \(was ([\d.]+) min\)$/.exec(step);
  if (m?.[1]) return `${name(m[1])} dropped (it was ${m[2]} minutes)`;
  if (step === "quotas dropped") return "quotas dropped";
  return step;
}

/** Seconds (or m:ss) typed by a person → milliseconds; null when blank. */
export function parseSeconds(text: string): number | null {
  const t = text.trim();
  if (!t) return null;
  const m = /^(?:(\d+):)?(\d+)(?:\.(\d+))?$/.exec(t);
  if (!m) return Number.NaN;
  const whole = m[1] !== undefined ? Number(m[1]) * 60 + Number(m[2]) : Number(m[2]);
  return Math.round((whole + Number(`0.${m[3] ?? 0}`)) * 1000);
}

/** Milliseconds → seconds text for an input ("" for null). */
export function secondsText(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "" : String(ms / 1000);
}

/** The UTC instant (ISO) of a wall-clock ``YYYY-MM-DDTHH:MM`` in ``timeZone``. */
export function zonedInstant(local: string, timeZone: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local);
  if (!m) throw new Error(`not a date and time: ${local}`);
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  const offsetAt = (at: number): number => {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    }).formatToParts(new Date(at));
    const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
    return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute")) - at;
  };
  let at = guess - offsetAt(guess);
  at = guess - offsetAt(at);
  return new Date(at).toISOString();
}

/** A wall-clock ``YYYY-MM-DDTHH:MM`` now in ``timeZone`` (for datetime-local inputs). */
export function zonedNow(timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).formatToParts(new Date());
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
  return `${get("year")}-${get("month")}-${get("day")}T${get("hour")}:${get("minute")}`;
}
