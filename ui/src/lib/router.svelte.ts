// Pages by address (/, /library, /live, /asrun, /people; the server answers each with the app), moved
// between with the History API so the browser's back button works.

export type Page = "dashboard" | "library" | "live" | "asrun" | "people";

const PATHS: Record<Page, string> = {
  dashboard: "/",
  library: "/library",
  live: "/live",
  asrun: "/asrun",
  people: "/people",
};

function fromPath(path: string): Page {
  if (path.startsWith("/library")) return "library";
  if (path.startsWith("/asrun")) return "asrun";
  if (path.startsWith("/live")) return "live";
  if (path.startsWith("/people")) return "people";
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
