// The API client: typed from the server's OpenAPI document (schema.d.ts is generated
// by `npm run gen` from scripts/openapi.py), so a route that changes breaks the type
// check, not a page. Tokens live in sessionStorage (gone with the tab); the access
// token is refreshed shortly before it expires and once after a 401.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

const KEYS = ["access", "refresh", "expiresAt"] as const;

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export function saveTokens(pair: TokenPair): void {
  sessionStorage.setItem("access", pair.access_token);
  sessionStorage.setItem("refresh", pair.refresh_token);
  sessionStorage.setItem("expiresAt", String(Date.now() + pair.expires_in * 1000));
}

export function clearTokens(): void {
  for (const key of KEYS) sessionStorage.removeItem(key);
}

export function signedIn(): boolean {
  return Boolean(sessionStorage.getItem("access"));
}

let refreshing: Promise<boolean> | null = null;

/** A new token pair from the refresh token; false when there is none or it was refused. */
export function refreshTokens(): Promise<boolean> {
  refreshing ??= (async () => {
    const refresh = sessionStorage.getItem("refresh");
    if (!refresh) return false;
    const reply = await fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: refresh }),
    });
    if (!reply.ok) {
      clearTokens();
      return false;
    }
    saveTokens((await reply.json()) as TokenPair);
    return true;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

const auth: Middleware = {
  async onRequest({ request }) {
    const expiresAt = Number(sessionStorage.getItem("expiresAt") || 0);
    if (expiresAt && expiresAt - Date.now() < 30_000) await refreshTokens();
    const access = sessionStorage.getItem("access");
    if (access) request.headers.set("Authorization", `Bearer ${access}`);
    return request;
  },
  async onResponse({ request, response }) {
    if (response.status !== 401 || !sessionStorage.getItem("refresh")) return response;
    if (!(await refreshTokens())) return response;
    const again = new Request(request, { headers: new Headers(request.headers) });
    again.headers.set("Authorization", `Bearer ${sessionStorage.getItem("access") ?? ""}`);
    return fetch(again);
  },
};

export const api = createClient<paths>({ baseUrl: "" });
api.use(auth);

/** The text of an API problem (RFC 9457 ``detail``), or a plain description. */
export function problem(error: unknown, status?: number): string {
  if (error && typeof error === "object") {
    const body = error as { detail?: unknown; title?: unknown };
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail
        .map((d: { msg?: string; loc?: unknown[] }) => `${(d.loc ?? []).join(".")}: ${d.msg ?? ""}`)
        .join("; ");
    }
    if (typeof body.title === "string") return body.title;
  }
  return status ? `the server answered ${status}` : String(error);
}

/** Unwrap an openapi-fetch result: its data, or an Error saying what the server said. */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    throw new Error(problem(result.error, result.response.status));
  }
  return result.data;
}
