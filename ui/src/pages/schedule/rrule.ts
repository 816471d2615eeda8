// The recurrence editor's model: a few plain choices that become an RFC 5545 RRULE
// (run by the server on the station's wall clock, dtstart giving the time of day),
// and the rule read back into those choices and into an English sentence.
import { lengthText, longDayText } from "./time";

export type Freq = "once" | "daily" | "weekdays" | "weekly" | "monthly" | "custom";
export type Ends = "never" | "until" | "count";
export const DAYS = [
  ["MO", "Monday"],
  ["TU", "Tuesday"],
  ["WE", "Wednesday"],
  ["TH", "Thursday"],
  ["FR", "Friday"],
  ["SA", "Saturday"],
  ["SU", "Sunday"],
] as const;
export type Day = (typeof DAYS)[number][0];
const WEEKDAYS: Day[] = ["MO", "TU", "WE", "TH", "FR"];

export interface Recurrence {
  freq: Freq;
  days: Day[];
  ends: Ends;
  /** Last day (YYYY-MM-DD, station-local) with ``ends`` "until". */
  until: string;
  count: number;
  /** The rule as typed with ``freq`` "custom". */
  custom: string;
}

export function blank(): Recurrence {
  return { freq: "weekly", days: [], ends: "never", until: "", count: 10, custom: "" };
}

function ending(r: Recurrence): string {
  if (r.ends === "until" && r.until) return `;UNTIL=${r.until.replaceAll("-", "")}T235959`;
  if (r.ends === "count" && r.count > 0) return `;COUNT=${Math.floor(r.count)}`;
  return "";
}

/** The RRULE the API takes ("" for a one-off show). */
export function toRrule(r: Recurrence): string {
  const ordered = DAYS.map(([d]) => d).filter((d) => r.days.includes(d));
  switch (r.freq) {
    case "once":
      return "";
    case "daily":
      return `FREQ=DAILY${ending(r)}`;
    case "weekdays":
      return `FREQ=WEEKLY;BYDAY=${WEEKDAYS.join(",")}${ending(r)}`;
    case "weekly":
      return `FREQ=WEEKLY${ordered.length ? `;BYDAY=${ordered.join(",")}` : ""}${ending(r)}`;
    case "monthly":
      return `FREQ=MONTHLY${ending(r)}`;
    case "custom":
      return r.custom.trim();
  }
}

/** A stored rule as editor choices (anything the editor cannot say is "custom"). */
export function fromRrule(text: string): Recurrence {
  const r = blank();
  const rule = text.trim().replace(/^RRULE:/i, "");
  if (!rule) return { ...r, freq: "once" };
  const parts = new Map<string, string>();
  for (const piece of rule.split(";")) {
    const [key, value] = piece.split("=");
    if (key && value !== undefined) parts.set(key.trim().toUpperCase(), value.trim().toUpperCase());
  }
  const custom = { ...r, freq: "custom" as const, custom: text.trim() };
  const until = parts.get("UNTIL");
  const count = parts.get("COUNT");
  if (until) {
    const found = /^(\d{4})(\d{2})(\d{2})(T235959)?$/.exec(until);
    if (!found || !found[4]) return custom;
    r.ends = "until";
    r.until = `${found[1]}-${found[2]}-${found[3]}`;
  } else if (count) {
    r.ends = "count";
    r.count = Number(count);
  }
  const known = new Set(["FREQ", "BYDAY", "UNTIL", "COUNT"]);
  if ([...parts.keys()].some((k) => !known.has(k)) || (parts.get("INTERVAL") ?? "1") !== "1") return custom;
  const byday = parts.get("BYDAY");
  const days = byday ? byday.split(",") : [];
  if (days.some((d) => !DAYS.some(([code]) => code === d))) return custom;
  switch (parts.get("FREQ")) {
    case "DAILY":
      return days.length ? custom : { ...r, freq: "daily" };
    case "MONTHLY":
      return days.length ? custom : { ...r, freq: "monthly" };
    case "WEEKLY":
      if (days.length === 5 && WEEKDAYS.every((d) => days.includes(d))) return { ...r, freq: "weekdays" };
      return { ...r, freq: "weekly", days: days as Day[] };
    default:
      return custom;
  }
}

function list(words: string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

function ordinal(n: number): string {
  const tail = n % 100 >= 11 && n % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${tail}`;
}

/** The rule in words: "Every weekday at 06:00 for 2 hours". ``start`` is the wall
 * date and time of the first airing (YYYY-MM-DDTHH:MM). */
export function sentence(r: Recurrence, start: string, durationMs: number): string {
  const time = start.slice(11, 16);
  const date = start.slice(0, 10);
  const tail = ` at ${time} for ${lengthText(durationMs)}`;
  let head: string;
  switch (r.freq) {
    case "once":
      return `Once on ${date ? longDayText(date) : "–"}${tail}`;
    case "daily":
      head = "Every day";
      break;
    case "weekdays":
      head = "Every weekday";
      break;
    case "weekly": {
      const names = DAYS.filter(([d]) => r.days.includes(d)).map(([, name]) => name);
      const fallback = date ? new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", weekday: "long" }).format(new Date(`${date}T00:00:00Z`)) : "week";
      head = `Every ${names.length ? list(names) : fallback}`;
      break;
    }
    case "monthly":
      head = `Every month on the ${date ? ordinal(Number(date.slice(8, 10))) : "same day"}`;
      break;
    case "custom":
      head = `By the rule ${r.custom.trim() || "(empty)"}`;
      break;
  }
  let end = "";
  if (r.ends === "until" && r.until) end = `, until ${longDayText(r.until)}`;
  if (r.ends === "count" && r.count > 0) end = `, ${r.count} time${r.count === 1 ? "" : "s"}`;
  return head + tail + end;
}
