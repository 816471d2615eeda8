// The timeline page's data work: hours and days in the station's time zone, the
// check report's problems placed at their times, and a rebuild's diff in words.
// Pure functions (no Svelte state), so ~4 000 entries are grouped in one pass.
import type { Schemas } from "../../lib/api";

export type Entry = Schemas["EntryOut"];
export type Report = Schemas["ReportOut"];
export type Diff = Schemas["DiffOut"];
export type Change = Schemas["ChangeOut"];

export const HOUR_MS = 3_600_000;

/** Names of what entries point at (show, playlist, smart block, web stream), by id. */
export type Names = {
  shows: Map<string, string>;
  playlists: Map<string, string>;
  blocks: Map<string, string>;
  webstreams: Map<string, string>;
};

export function noNames(): Names {
  return { shows: new Map(), playlists: new Map(), blocks: new Map(), webstreams: new Map() };
}

// -- time in the station's zone ---------------------------------------------------------

const formats = new Map<string, Intl.DateTimeFormat>();

// NOTE: an Intl.DateTimeFormat costs far more to make than to use: one per zone and style.
function format(timeZone: string, style: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${timeZone}|${style}`;
  let found = formats.get(key);
  if (!found) {
    found = new Intl.DateTimeFormat("en-GB", { timeZone, ...options });
    formats.set(key, found);
  }
  return found;
}

type Parts = { year: number; month: number; day: number; hour: number; minute: number; second: number };

/** The wall-clock fields of the instant ``ms`` in ``timeZone``. */
export function wall(ms: number, timeZone: string): Parts {
  const parts = format(timeZone, "parts", {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(ms));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return {
    year: get("year"),
    month: get("month"),
    day: get("day"),
    hour: get("hour") % 24,
    minute: get("minute"),
    second: get("second"),
  };
}

/** The instant the station's hour holding ``ms`` began (zones with half-hour offsets too). */
export function hourStart(ms: number, timeZone: string): number {
  const { minute, second } = wall(ms, timeZone);
  return ms - (((minute * 60 + second) * 1000 + (((ms % 1000) + 1000) % 1000)));
}

export function timeOf(iso: string | number, timeZone: string): string {
  return format(timeZone, "time", { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(
    new Date(iso),
  );
}

export function hourOf(ms: number, timeZone: string): string {
  return format(timeZone, "hour", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(ms));
}

export function dayOf(ms: number, timeZone: string): string {
  return format(timeZone, "day", { weekday: "long", day: "numeric", month: "long", year: "numeric" }).format(
    new Date(ms),
  );
}

/** "Mon 7 Dec, 17:09:25" in the station's zone. */
export function whenOf(iso: string | number, timeZone: string): string {
  return format(timeZone, "when", {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).format(new Date(iso));
}

/** ``YYYY-MM-DDTHH:MM`` (a datetime-local input's value) of ``ms`` in ``timeZone``. */
export function localInput(ms: number, timeZone: string): string {
  const w = wall(ms, timeZone);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${w.year}-${two(w.month)}-${two(w.day)}T${two(w.hour)}:${two(w.minute)}`;
}

/** The UTC instant (ISO 8601) of the wall-clock time ``local`` (YYYY-MM-DDTHH:MM) in ``timeZone``. */
export function zonedInstant(local: string, timeZone: string): string {
  const found = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local);
  if (!found) throw new Error(`not a date and time: ${local}`);
  const [y, mo, d, h, mi, s] = found.slice(1).map((v) => Number(v ?? 0)) as number[];
  const asUtc = Date.UTC(y ?? 1970, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0);
  // the zone's offset at an instant: its wall clock read as UTC, minus the instant
  const offsetAt = (at: number) => {
    const w = wall(at, timeZone);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - (at - (((at % 1000) + 1000) % 1000));
  };
  // twice: the offset at the guess may differ from the one at the answer (DST days)
  let at = asUtc - offsetAt(asUtc);
  at = asUtc - offsetAt(at);
  return new Date(at).toISOString();
}

// -- what an entry is ---------------------------------------------------------------------

export function titleOf(entry: Pick<Entry, "title" | "artist" | "kind">): string {
  const title = entry.title || (entry.kind === "track" ? "untitled" : entry.kind);
  return entry.artist ? `${entry.artist} — ${title}` : title;
}

function meta(entry: Entry, key: string): string | null {
  const value = entry.meta[key];
  return value === undefined || value === null ? null : String(value);
}

/** Where an entry comes from: show, clock slot, smart block or playlist, filler. */
export function sourceOf(entry: Entry, names: Names): string {
  const parts: string[] = [];
  if (entry.show_id) parts.push(`show ${names.shows.get(entry.show_id) ?? entry.show_id.slice(0, 8)}`);
  const slot = meta(entry, "slot");
  if (slot) parts.push(`slot ${slot}`);
  if (entry.smart_block_id) {
    parts.push(`smart block ${names.blocks.get(entry.smart_block_id) ?? entry.smart_block_id.slice(0, 8)}`);
  }
  if (entry.playlist_id) {
    parts.push(`playlist ${names.playlists.get(entry.playlist_id) ?? entry.playlist_id.slice(0, 8)}`);
  }
  if (entry.webstream_id) {
    parts.push(`web stream ${names.webstreams.get(entry.webstream_id) ?? entry.webstream_id.slice(0, 8)}`);
  }
  const filler = meta(entry, "filler");
  if (filler) parts.push(`filler: ${filler}`);
  if (meta(entry, "fallback_block")) parts.push("from the fallback block");
  return parts.join(" · ") || entry.kind;
}

/** The key of the slot instance an entry was planned in (as the check report names it). */
export function slotKey(slot: string | null | undefined, start: string | null | undefined): string | null {
  if (!slot || !start) return null;
  const at = Date.parse(start);
  return Number.isNaN(at) ? null : `${slot}|${at}`;
}

export function entrySlot(entry: Entry): string | null {
  return slotKey(meta(entry, "slot"), meta(entry, "slot_start"));
}

// -- problems, placed at their times ---------------------------------------------------------

export type MarkerKind = "gap" | "underfill" | "relaxed" | "hole";

export type Marker = {
  id: string;
  kind: MarkerKind;
  at: number;
  end?: number;
  title: string;
  details: string[];
};

export const KIND_LABEL: Record<MarkerKind, string> = {
  gap: "Gap",
  underfill: "Under-filled",
  relaxed: "Rules relaxed",
  hole: "Nothing stored",
};

function seconds(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export { seconds as length };

/** The report's gaps, under-filled slots and relaxations, and the holes of the stored
 * list itself (time between two stored entries where nothing plays). */
export function markersOf(report: Report | null, entries: Entry[], timeZone: string): Marker[] {
  const out: Marker[] = [];
  report?.gaps.forEach((gap, i) => {
    const at = Date.parse(gap.start);
    const end = Date.parse(gap.end);
    out.push({
      id: `problem-gap-${i}`,
      kind: "gap",
      at,
      end,
      title: `${timeOf(at, timeZone)}–${timeOf(end, timeZone)} (${seconds(end - at)}) would be dead air`,
      details: [gap.reason],
    });
  });
  report?.underfilled.forEach((under, i) => {
    out.push({
      id: `problem-underfill-${i}`,
      kind: "underfill",
      at: Date.parse(under.start),
      title: `slot ${under.slot}: ${seconds(under.content_ms)} of its own content for ${seconds(under.target_ms)}, ${seconds(under.filler_ms)} filled from jingles or the default rotation`,
      details: under.notes,
    });
  });
  report?.relaxations.forEach((relaxed, i) => {
    out.push({
      id: `problem-relaxed-${i}`,
      kind: "relaxed",
      at: Date.parse(relaxed.start),
      title: `slot ${relaxed.slot} relaxed ${relaxed.relaxations.length === 1 ? "a rule" : `${relaxed.relaxations.length} rules`} to fill`,
      details: relaxed.relaxations,
    });
  });
  // NOTE: sorted by start; skipped entries do not play, so they do not cover time
  let reach: number | null = null;
  let holes = 0;
  for (const entry of entries) {
    if (entry.status === "skipped") continue;
    const start = Date.parse(entry.starts_at);
    const end = Date.parse(entry.ends_at);
    if (reach !== null && start - reach > 1000) {
      out.push({
        id: `problem-hole-${holes++}`,
        kind: "hole",
        at: reach,
        end: start,
        title: `nothing is stored from ${timeOf(reach, timeZone)} to ${timeOf(start, timeZone)} (${seconds(start - reach)})`,
        details: [],
      });
    }
    reach = reach === null ? end : Math.max(reach, end);
  }
  return out.sort((a, b) => a.at - b.at);
}

/** Per slot instance (see :func:`slotKey`): the relaxations and under-fill the report names. */
export function slotProblems(report: Report | null): Map<string, { relaxed: string[]; underfilled: boolean }> {
  const out = new Map<string, { relaxed: string[]; underfilled: boolean }>();
  const at = (key: string | null) => {
    if (key === null) return null;
    let found = out.get(key);
    if (!found) {
      found = { relaxed: [], underfilled: false };
      out.set(key, found);
    }
    return found;
  };
  for (const relaxed of report?.relaxations ?? []) at(slotKey(relaxed.slot, relaxed.start))?.relaxed.push(...relaxed.relaxations);
  for (const under of report?.underfilled ?? []) {
    const found = at(slotKey(under.slot, under.start));
    if (found) found.underfilled = true;
  }
  return out;
}

// -- hours and days ---------------------------------------------------------------------------

export type Row = { type: "entry"; entry: Entry } | { type: "marker"; marker: Marker };

export type Hour = {
  start: number;
  entries: Entry[];
  markers: Marker[];
};

export type Day = { label: string; hours: Hour[] };

/** Every station hour of ``from`` … ``to`` with its entries and markers, grouped by day. */
export function daysOf(from: number, to: number, entries: Entry[], markers: Marker[], timeZone: string): Day[] {
  const first = hourStart(from, timeZone);
  const hours: Hour[] = [];
  const index = new Map<number, Hour>();
  for (let at = first; at < to; at += HOUR_MS) {
    const hour = { start: at, entries: [], markers: [] };
    hours.push(hour);
    index.set(at, hour);
  }
  if (!hours.length) return [];
  const last = hours[hours.length - 1] as Hour;
  const place = (ms: number): Hour => {
    if (ms <= first) return hours[0] as Hour;
    if (ms >= last.start) return last;
    return index.get(hourStart(ms, timeZone)) ?? last;
  };
  for (const entry of entries) place(Date.parse(entry.starts_at)).entries.push(entry);
  for (const marker of markers) place(marker.at).markers.push(marker);
  const days: Day[] = [];
  for (const hour of hours) {
    const label = dayOf(hour.start, timeZone);
    const day = days[days.length - 1];
    if (day && day.label === label) day.hours.push(hour);
    else days.push({ label, hours: [hour] });
  }
  return days;
}

/** An hour's entries with its markers put before the first entry starting at or after them. */
export function rowsOf(hour: Hour): Row[] {
  const rows: Row[] = [];
  let m = 0;
  for (const entry of hour.entries) {
    const start = Date.parse(entry.starts_at);
    while (m < hour.markers.length && (hour.markers[m] as Marker).at <= start) {
      rows.push({ type: "marker", marker: hour.markers[m++] as Marker });
    }
    rows.push({ type: "entry", entry });
  }
  while (m < hour.markers.length) rows.push({ type: "marker", marker: hour.markers[m++] as Marker });
  return rows;
}

/** The entry on air: the one the executor says is, else the one whose time it is. */
export function onAirOf(entries: Entry[], now: number): string | null {
  // NOTE: the list is loaded once; an on-air mark that has run out gives way to the clock
  const marked = entries.find((e) => e.status === "on_air" && Date.parse(e.ends_at) > now);
  if (marked) return marked.id ?? null;
  const timed = entries.find(
    (e) => e.status !== "skipped" && Date.parse(e.starts_at) <= now && now < Date.parse(e.ends_at),
  );
  return timed?.id ?? null;
}

// -- a rebuild's diff in words ---------------------------------------------------------------

export type Moved = { old: Entry; new: Entry };

export type DiffParts = { added: Entry[]; removed: Entry[]; moved: Moved[]; changed: Change[] };

/** The diff with removed and added entries of the same item paired up as moves (in air
 * order: the first removed play of an item moves to its first added play, and so on). */
export function diffParts(diff: Diff): DiffParts {
  const item = (e: Entry) => e.media_id ?? e.webstream_id ?? null;
  const byItem = new Map<string, Entry[]>();
  for (const e of diff.removed) {
    const key = item(e);
    if (key === null) continue;
    const list = byItem.get(`${e.kind}|${key}`) ?? [];
    list.push(e);
    byItem.set(`${e.kind}|${key}`, list);
  }
  const moved: Moved[] = [];
  const added: Entry[] = [];
  const paired = new Set<Entry>();
  for (const e of diff.added) {
    const key = item(e);
    const olds = key === null ? undefined : byItem.get(`${e.kind}|${key}`);
    const old = olds?.shift();
    if (old) {
      moved.push({ old, new: e });
      paired.add(old);
    } else {
      added.push(e);
    }
  }
  return { added, removed: diff.removed.filter((e) => !paired.has(e)), moved, changed: diff.changed };
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** "2 gaps, 1 under-filled slot, 3 slots with relaxed rules, 0 conflicts". */
export function problemWords(report: Report): string {
  return [
    plural(report.gaps.length, "gap"),
    plural(report.underfilled.length, "under-filled slot"),
    plural(report.relaxations.length, "slot with relaxed rules", "slots with relaxed rules"),
    plural(report.conflicts.length, "show conflict"),
    plural(report.warnings.length, "warning"),
  ].join(", ");
}

const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g;

function noted(value: unknown): string {
  if (value === undefined || value === null) return "none";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** A change's reasons for people: field names in words, times in the station's zone,
 * and of the planner notes only the notes that differ. */
export function reasonWords(change: Change, timeZone: string): string[] {
  return change.reasons.map((reason) => {
    if (reason.startsWith("meta ")) {
      const { old, new: now } = change;
      const keys = [...new Set([...Object.keys(old.meta), ...Object.keys(now.meta)])];
      const differ = keys
        .filter((k) => JSON.stringify(old.meta[k]) !== JSON.stringify(now.meta[k]))
        .map((k) => `${k.replaceAll("_", " ")} ${noted(old.meta[k])} → ${noted(now.meta[k])}`);
      reason = `planner notes: ${differ.join(", ")}`;
    } else {
      const space = reason.indexOf(" ");
      if (space > 0) reason = reason.slice(0, space).replaceAll("_", " ") + reason.slice(space);
    }
    return reason.replace(ISO, (at) => whenOf(at, timeZone));
  });
}
