// Who is signed in and which station they look at, shared by every page.
import { api, clearTokens, ok, saveTokens, signedIn, type Schemas, type TokenPair } from "./api";

export type Me = Schemas["Me"];
export type Membership = Schemas["Membership"];

class Session {
  me = $state<Me | null>(null);
  station = $state<Membership | null>(null);
  timezone = $state("UTC");

  /** The role on the chosen station (an administrator may do everything). */
  get role(): "admin" | "manager" | "dj" | null {
    if (!this.me) return null;
    if (this.me.is_admin) return "admin";
    return this.station?.role ?? null;
  }

  /** Whether the role reaches ``wanted`` (dj < manager < admin). */
  may(wanted: "dj" | "manager" | "admin"): boolean {
    const rank = { dj: 1, manager: 2, admin: 3 } as const;
    const role = this.role;
    return role !== null && rank[role] >= rank[wanted];
  }

  async load(): Promise<void> {
    if (!signedIn()) {
      this.me = null;
      return;
    }
    const me = ok(await api.GET("/api/v1/auth/me"));
    const wanted = new URLSearchParams(location.search).get("station") ?? sessionStorage.getItem("station");
    const found = me.stations.find((s) => s.short_name === wanted) ?? me.stations[0] ?? null;
    // NOTE: who is signed in is set with the station, not before it: in between the
    // page would say "not a member of any station"
    await this.choose(found);
    this.me = me;
  }

  /** Make ``station`` the current one, with its time zone: the pages see both at
   * once (a page shown with the old zone would place times in the wrong hours). */
  async choose(station: Membership | null): Promise<void> {
    if (!station) {
      this.station = null;
      return;
    }
    sessionStorage.setItem("station", station.short_name);
    const detail = ok(
      await api.GET("/api/v1/stations/{station}", {
        params: { path: { station: station.short_name } },
      }),
    );
    this.timezone = detail.timezone;
    this.station = station;
  }

  async signIn(username: string, password: string): Promise<void> {
    const reply = await fetch("/api/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    const body: unknown = await reply.json().catch(() => null);
    if (!reply.ok) {
      const detail = (body as { detail?: unknown } | null)?.detail;
      throw new Error(typeof detail === "string" ? detail : `sign-in failed (${reply.status})`);
    }
    saveTokens(body as TokenPair);
    await this.load();
  }

  async signOut(): Promise<void> {
    const refresh = sessionStorage.getItem("refresh");
    clearTokens();
    this.me = null;
    this.station = null;
    if (refresh) {
      await fetch("/api/v1/auth/logout", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: refresh }),
      });
    }
  }
}

export const session = new Session();
