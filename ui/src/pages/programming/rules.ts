// Smart block rules as the form holds them (strings, as typed) and as the API takes
// them (SmartBlockIn.rules: the planner's BlockRules document).
import { FIELDS, MODIFIERS, OVERFLOWS, RELAXATIONS, SORTS, type Kind } from "./catalog";

export interface RuleDraft {
  key: number;
  field: string; // a FIELDS value; "custom" takes ``custom`` as its key
  custom: string;
  modifier: string;
  value: string;
  value2: string;
  spanN: number | null;
  spanUnit: string;
}

export interface GroupDraft {
  key: number;
  rules: RuleDraft[];
}

export interface WeightDraft {
  key: number;
  field: string;
  value: string;
  weight: number | null;
}

export interface QuotaDraft {
  key: number;
  field: string;
  value: string;
  min: number | null;
  max: number | null;
}

export interface Draft {
  groups: GroupDraft[];
  weights: WeightDraft[];
  quotas: QuotaDraft[];
  separation: { artist: number | null; title: number | null; album: number | null };
  overflow: string;
  limitKind: "none" | "items" | "minutes";
  limitValue: number | null;
  sort: string;
  relaxation: { value: string; on: boolean }[];
}

let counter = 0;
export const nextKey = (): number => ++counter;

export function kindOf(field: string): Kind {
  return FIELDS.find((f) => f.value === field)?.kind ?? "text";
}

export function newRule(field = "genre"): RuleDraft {
  return { key: nextKey(), field, custom: "", modifier: "is", value: "", value2: "", spanN: 30, spanUnit: "days" };
}

/** Whether the rule's value takes two ends, or a span ("in the last"). */
export function shape(rule: RuleDraft): "one" | "pair" | "span" {
  const kind = kindOf(rule.field);
  if (kind === "date" && rule.modifier === "in_range") return "span";
  if (kind !== "text" && (rule.modifier === "between" || rule.modifier === "in_range")) return "pair";
  return "one";
}

function number(text: string): number | string {
  const t = text.trim();
  if (t !== "" && Number.isFinite(Number(t))) return Number(t);
  return t; // "3:30" is a duration; anything else the server refuses, saying why
}

export function ruleToApi(rule: RuleDraft): { field: string; modifier: string; value: unknown } {
  const field = rule.field === "custom" ? `custom.${rule.custom.trim()}` : rule.field;
  const kind = kindOf(rule.field);
  const s = shape(rule);
  let value: unknown;
  if (s === "span") value = `${rule.spanN ?? ""} ${rule.spanUnit}`;
  else if (kind === "number") value = s === "pair" ? [number(rule.value), number(rule.value2)] : number(rule.value);
  else value = s === "pair" ? [rule.value.trim(), rule.value2.trim()] : kind === "date" ? rule.value.trim() : rule.value;
  return { field, modifier: rule.modifier, value };
}

/** Whether every part of the rule is filled in (a preview of a half-typed rule is a 422). */
export function complete(rule: RuleDraft): boolean {
  if (rule.field === "custom" && !rule.custom.trim()) return false;
  const s = shape(rule);
  if (s === "span") return rule.spanN !== null && rule.spanN > 0;
  if (s === "pair") return rule.value.trim() !== "" && rule.value2.trim() !== "";
  return rule.value.trim() !== "";
}

export function ruleFromApi(raw: unknown): RuleDraft {
  const r = (raw ?? {}) as { field?: string; modifier?: string; value?: unknown };
  const rule = newRule();
  let field = String(r.field ?? "genre");
  if (field.startsWith("custom.")) {
    rule.custom = field.slice(7);
    field = "custom";
  }
  rule.field = field;
  rule.modifier = String(r.modifier ?? "is");
  if (Array.isArray(r.value)) {
    rule.value = String(r.value[0] ?? "");
    rule.value2 = String(r.value[1] ?? "");
  } else if (kindOf(field) === "date" && rule.modifier === "in_range") {
    const m = /^(\d+)\s*(minute|hour|day|week)s?/i.exec(String(r.value ?? ""));
    rule.spanN = m ? Number(m[1]) : null;
    rule.spanUnit = m?.[2] ? `${m[2].toLowerCase()}s` : "days";
  } else {
    rule.value = r.value === undefined || r.value === null ? "" : String(r.value);
  }
  return rule;
}

export function draftFromRules(doc: Record<string, unknown>): Draft {
  const groups = ((doc.groups as unknown[][] | undefined) ?? []).map((g) => ({
    key: nextKey(),
    rules: g.map(ruleFromApi),
  }));
  const weights: WeightDraft[] = [];
  for (const [field, table] of Object.entries((doc.weights as Record<string, Record<string, number>>) ?? {})) {
    for (const [value, weight] of Object.entries(table)) weights.push({ key: nextKey(), field, value, weight });
  }
  const quotas = ((doc.quotas as Record<string, unknown>[] | undefined) ?? []).map((q) => ({
    key: nextKey(),
    field: String(q.field ?? "genre"),
    value: q.value === undefined || q.value === null ? "" : String(q.value),
    min: (q.min as number | null | undefined) ?? null,
    max: (q.max as number | null | undefined) ?? null,
  }));
  const sep = (doc.separation as Record<string, number> | undefined) ?? {};
  const limit = (doc.limit as { items?: number | null; minutes?: number | null } | undefined) ?? {};
  const listed = (doc.relaxation as string[] | undefined) ?? RELAXATIONS.map((r) => r.value);
  return {
    groups,
    weights,
    quotas,
    separation: { artist: sep.artist ?? null, title: sep.title ?? null, album: sep.album ?? null },
    overflow: String(doc.overflow ?? "under"),
    limitKind: limit.items != null ? "items" : limit.minutes != null ? "minutes" : "none",
    limitValue: limit.items ?? limit.minutes ?? null,
    sort: String(doc.sort ?? "random"),
    relaxation: [
      ...listed.map((value) => ({ value, on: true })),
      ...RELAXATIONS.filter((r) => !listed.includes(r.value)).map((r) => ({ value: r.value as string, on: false })),
    ],
  };
}

export function rulesFromDraft(d: Draft): Record<string, unknown> {
  const weights: Record<string, Record<string, number>> = {};
  for (const w of d.weights) {
    if (!w.value.trim()) continue;
    (weights[w.field] ??= {})[w.value.trim()] = w.weight ?? 1;
  }
  const separation: Record<string, number> = {};
  for (const k of ["artist", "title", "album"] as const) {
    const v = d.separation[k];
    if (v !== null && v !== undefined && Number.isFinite(v)) separation[k] = v;
  }
  const limit =
    d.limitKind === "items" && d.limitValue
      ? { items: d.limitValue }
      : d.limitKind === "minutes" && d.limitValue
        ? { minutes: d.limitValue }
        : {};
  return {
    groups: d.groups.map((g) => g.rules.map(ruleToApi)),
    weights,
    quotas: d.quotas.map((q) => {
      const value = q.value.trim();
      return {
        field: q.field,
        ...(value ? { value: q.field === "year" && Number.isFinite(Number(value)) ? Number(value) : value } : {}),
        ...(q.min !== null && q.min !== undefined ? { min: q.min } : {}),
        ...(q.max !== null && q.max !== undefined ? { max: q.max } : {}),
      };
    }),
    separation,
    overflow: d.overflow,
    limit,
    sort: d.sort,
    relaxation: d.relaxation.filter((r) => r.on).map((r) => r.value),
  };
}

// -- in words (the read-only view) ----------------------------------------------------

const fieldLabel = (field: string): string =>
  field.startsWith("custom.")
    ? `custom tag “${field.slice(7)}”`
    : (FIELDS.find((f) => f.value === field)?.label ?? field).toLowerCase();

export function ruleWords(raw: unknown): string {
  const r = ruleFromApi(raw);
  const apiRule = ruleToApi(r);
  const mod = MODIFIERS[kindOf(r.field)].find((m) => m.value === r.modifier)?.label ?? r.modifier;
  const s = shape(r);
  const value =
    s === "span"
      ? `${r.spanN} ${r.spanUnit}`
      : s === "pair"
        ? `${r.value} and ${r.value2}`
        : kindOf(r.field) === "text"
          ? `“${r.value}”`
          : r.value;
  return `${fieldLabel(apiRule.field)} ${mod.replace(" (both included)", "").replace(" (same as between)", "")} ${value}`;
}

export function settingsWords(doc: Record<string, unknown>): string[] {
  const d = draftFromRules(doc);
  const out: string[] = [];
  out.push(`Order: ${SORTS.find((s) => s.value === d.sort)?.label.toLowerCase() ?? d.sort}.`);
  out.push(`At the target: ${OVERFLOWS.find((o) => o.value === d.overflow)?.label.toLowerCase() ?? d.overflow}.`);
  if (d.limitKind !== "none") out.push(`Limit: ${d.limitValue} ${d.limitKind === "items" ? "tracks" : "minutes"}.`);
  const sep = d.separation;
  out.push(
    `Separation: artist ${sep.artist ?? 60} min, title ${sep.title ?? 180} min, album ${sep.album ?? 60} min` +
      (sep.artist === null && sep.title === null && sep.album === null ? " (the defaults)." : "."),
  );
  const steps = d.relaxation.filter((r) => r.on).map((r) => RELAXATIONS.find((x) => x.value === r.value)?.label.toLowerCase());
  out.push(steps.length ? `When nothing fits, relax in this order: ${steps.join(", ")}.` : "Never relaxes its separation or quotas.");
  for (const w of d.weights) out.push(`Weight of ${fieldLabel(w.field)} “${w.value}”: ${w.weight}${w.weight === 0 ? " (excluded)" : ""}.`);
  for (const q of d.quotas) {
    const what = q.value ? `${fieldLabel(q.field)} “${q.value}”` : `each ${fieldLabel(q.field)}`;
    const parts = [q.min !== null ? `at least ${q.min}` : "", q.max !== null ? `at most ${q.max}` : ""].filter(Boolean);
    out.push(`Quota: ${parts.join(" and ")} tracks of ${what}.`);
  }
  return out;
}
