// What a show (or one substituted occurrence) can play, and the station's choices for it.
import type { Schemas } from "../../lib/api";

export type Content = Schemas["ShowIn"]["content"];
export type Ref = "playlist_id" | "smart_block_id" | "clock_id" | "webstream_id";
export interface Choice {
  id: string;
  name: string;
}
export interface Sources {
  playlist_id: Choice[];
  smart_block_id: Choice[];
  clock_id: Choice[];
  webstream_id: Choice[];
}

export const CONTENTS: { value: Content; label: string; ref: Ref | null }[] = [
  { value: "playlist", label: "Playlist", ref: "playlist_id" },
  { value: "smart_block", label: "Smart block", ref: "smart_block_id" },
  { value: "clock", label: "Clock", ref: "clock_id" },
  { value: "webstream", label: "Webstream", ref: "webstream_id" },
  { value: "live", label: "Live DJ", ref: null },
];

export function refOf(content: Content): Ref | null {
  return CONTENTS.find((c) => c.value === content)?.ref ?? null;
}

/** "Playlist Morning mix", "Live DJ". */
export function contentText(
  item: { content: Content } & Partial<Record<Ref, string | null>>,
  sources: Sources,
): string {
  const kind = CONTENTS.find((c) => c.value === item.content);
  const ref = kind?.ref ?? null;
  if (!kind || !ref) return kind?.label ?? item.content;
  const id = item[ref];
  const name = sources[ref].find((c) => c.id === id)?.name;
  return `${kind.label} ${name ?? "(unknown)"}`;
}
