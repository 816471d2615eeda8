// Pages by address (/ and /library; the server answers each with the app), moved
// between with the History API so the browser's back button works.

export type Page = "dashboard" | "library";

const PATHS: Record<Page, string> = { dashboard: "/", library: "/library" };

function fromPath(path: string): Page {
  return path.startsWith("/library") ? "library" : "dashboard";
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
