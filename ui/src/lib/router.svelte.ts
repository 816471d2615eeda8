// Pages by address (/, /library, /programming, /clocks, /schedule, /timeline, /live,
// /asrun, /people, /alerts, /settings, /import; the server answers each with the app), moved between
// with the History API so the browser's back button works.

export type Page =
  | "dashboard"
  | "library"
  | "programming"
  | "clocks"
  | "schedule"
  | "timeline"
  | "live"
  | "asrun"
  | "people"
  | "alerts"
  | "settings"
  | "import";

const PATHS: Record<Page, string> = {
  dashboard: "/",
  library: "/library",
  programming: "/programming",
  clocks: "/clocks",
  schedule: "/schedule",
  timeline: "/timeline",
  live: "/live",
  asrun: "/asrun",
  people: "/people",
  alerts: "/alerts",
  settings: "/settings",
  import: "/import",
};

function fromPath(path: string): Page {
  for (const [page, prefix] of Object.entries(PATHS) as [Page, string][]) {
    if (page !== "dashboard" && path.startsWith(prefix)) return page;
  }
  return "dashboard";
}

class Router {
  page = $state<Page>(fromPath(location.pathname));

  constructor() {
    window.addEventListener("popstate", () => {
      this.page = fromPath(location.pathname);
    });
  }

  go(page: Page): void {
    if (page === this.page) return;
    history.pushState(null, "", PATHS[page] + location.search);
    this.page = page;
  }

  href(page: Page): string {
    return PATHS[page];
  }
}

export const router = new Router();
