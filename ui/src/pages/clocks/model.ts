// What the clocks page shares: slot kinds and what each points at, the draft of a
// slot being edited, minutes:seconds in the hour, and the wheel's arc geometry.
import type { Schemas } from "../../lib/api";

export type Clock = Schemas["ClockOut"];
export type SlotIn = Schemas["SlotIn"];
export type SlotKind = Schemas["SlotKind"];
export type Timing = Schemas["Timing"];
export type Simulation = Schemas["SimulationOut"];
export type Entry = Schemas["EntryOut"];

export const HOUR_MS = 3_600_000;

/** Each kind: what it is called, what it plays from, and its colour on the wheel
 * (dark enough that white labels on it read in light and dark themes). */
export const KINDS: Record<SlotKind, { label: string; source: string; colour: string }> = {
  smart_block: { label: "Smart block", source: "a smart block", colour: "#0b5cad" },
  playlist: { label: "Playlist", source: "a playlist", colour: "#1b6e2d" },
  hard_item: { label: "Single item", source: "one media item", colour: "#8a4b00" },
  stopset: { label: "Stopset", source: "a playlist or smart block of spots", colour: "#a3231b" },
  webstream: { label: "Web stream", source: "a web stream", colour: "#6b2fa0" },
  live: { label: "Live", source: "a live DJ (nothing to choose)", colour: "#005f66" },
};
export const KIND_ORDER = Object.keys(KINDS) as SlotKind[];

/** One slot as the editor holds it: the API's fields plus a key that survives reordering. */
export type Draft = SlotIn & { key: string };

let counter = 0;
export function draftOf(slot: SlotIn): Draft {
  counter += 1;
  return {
    key: `slot-${counter}`,
    name: slot.name ?? null,
    offset_ms: slot.offset_ms,
    duration_ms: slot.duration_ms,
    kind: slot.kind,
    timing: slot.timing ?? "soft",
    smart_block_id: slot.smart_block_id ?? null,
    playlist_id: slot.playlist_id ?? null,
    media_id: slot.media_id ?? null,
    webstream_id: slot.webstream_id ?? null,
    params: { ...(slot.params ?? {}) },
  };
}

/** What the API takes back: only the reference the kind uses (a kind changed in the
 * editor leaves no stale reference behind). */
export function slotBody(d: Draft): SlotIn {
  const keep = (field: "smart_block_id" | "playlist_id" | "media_id" | "webstream_id") =>
    USES[d.kind].includes(field) ? (d[field] ?? null) : null;
  const params = { ...(d.params ?? {}) };
  if (d.kind !== "hard_item") delete params.jingle;
  return {
    name: d.name?.trim() ? d.name.trim() : null,
    offset_ms: d.offset_ms,
    duration_ms: d.duration_ms,
    kind: d.kind,
    timing: d.timing,
    smart_block_id: keep("smart_block_id"),
    playlist_id: keep("playlist_id"),
    media_id: keep("media_id"),
    webstream_id: keep("webstream_id"),
    params,
  };
}

/** The references each kind reads (as the planner's slot validation says). */
export const USES: Record<SlotKind, RefField[]> = {
  smart_block: ["smart_block_id"],
  playlist: ["playlist_id"],
  hard_item: ["media_id"],
  stopset: ["playlist_id", "smart_block_id"],
  webstream: ["webstream_id"],
  live: [],
};

export type Option = { id: string; name: string };
/** What slots can point at, by the field that holds the reference. */
export type Sources = {
  smart_block_id: Option[];
  playlist_id: Option[];
  media_id: Option[];
  webstream_id: Option[];
};
export type RefField = keyof Sources;
export const REF_LABEL: Record<RefField, string> = {
  smart_block_id: "Smart blocks",
  playlist_id: "Playlists",
  media_id: "Media",
  webstream_id: "Web streams",
};

/** The field and id a slot's kind reads, when set. */
export function sourceOf(d: SlotIn): { field: RefField; id: string } | null {
  for (const field of USES[d.kind]) {
    const id = d[field];
    if (id) return { field, id };
  }
  return null;
}

/** The name of what the slot plays ("–" when nothing is chosen; live needs nothing). */
export function sourceName(d: SlotIn, sources: Sources): string {
  if (d.kind === "live") return "live DJ";
  const ref = sourceOf(d);
  if (!ref) return "nothing chosen";
  return sources[ref.field].find((o) => o.id === ref.id)?.name ?? `unknown (${ref.id.slice(0, 8)})`;
}

/** ``ms`` into the hour as ``mm:ss`` (``:05:30`` style is left to callers). */
export function minSec(ms: number): string {
  const total = Math.round(ms / 1000);
  const sign = total < 0 ? "-" : "";
  const abs = Math.abs(total);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** ``mm:ss``, ``mm`` or ``m:ss`` to milliseconds; null when it is not a time. */
export function parseMinSec(text: string): number | null {
  const found = /^\s*(\d{1,3})(?::([0-5]?\d))?\s*$/.exec(text);
  if (!found) return null;
  return (Number(found[1]) * 60 + Number(found[2] ?? 0)) * 1000;
}

/** Where a new slot goes: after the last one, as long as the rest of the hour (at most 10 min). */
export function nextSlot(slots: Draft[]): Draft {
  const end = Math.max(0, ...slots.map((s) => s.offset_ms + s.duration_ms));
  const start = end >= HOUR_MS ? 0 : end;
  const left = HOUR_MS - start;
  return draftOf({
    offset_ms: start,
    duration_ms: Math.min(left, 10 * 60_000),
    kind: "smart_block",
    timing: "soft",
  });
}

/** A simulated item on the wheel: ms into the hour, a tooltip, its slot's colour (null: filler). */
export type Overlay = { start: number; end: number; title: string; colour: string | null };

// ---- the wheel: angles in degrees clockwise from the top (minute 0) ----

const TAU = 2 * Math.PI;

export function point(cx: number, cy: number, r: number, ms: number): [number, number] {
  const a = (ms / HOUR_MS) * TAU;
  return [cx + r * Math.sin(a), cy - r * Math.cos(a)];
}

const f = (n: number) => n.toFixed(2);

/** The path of a ring sector from ``start`` to ``end`` ms between radii ``inner`` and
 * ``outer`` (a whole hour is drawn as two halves: one SVG arc cannot close a circle). */
export function sector(
  cx: number,
  cy: number,
  inner: number,
  outer: number,
  start: number,
  end: number,
): string {
  const from = Math.max(0, start);
  const to = Math.min(HOUR_MS, end);
  if (to - from >= HOUR_MS - 1) {
    const half = from + HOUR_MS / 2;
    return sector(cx, cy, inner, outer, from, half) + " " + sector(cx, cy, inner, outer, half, from + HOUR_MS);
  }
  const large = to - from > HOUR_MS / 2 ? 1 : 0;
  const [x0, y0] = point(cx, cy, outer, from);
  const [x1, y1] = point(cx, cy, outer, to);
  const [x2, y2] = point(cx, cy, inner, to);
  const [x3, y3] = point(cx, cy, inner, from);
  return (
    `M${f(x0)} ${f(y0)} A${outer} ${outer} 0 ${large} 1 ${f(x1)} ${f(y1)} ` +
    `L${f(x2)} ${f(y2)} A${inner} ${inner} 0 ${large} 0 ${f(x3)} ${f(y3)} Z`
  );
}
