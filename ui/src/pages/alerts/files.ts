// The log's exports need the signed-in user's token, which a plain link cannot carry:
// each is fetched with it, then saved (CSV, JSON) or shown in a new tab (the printable log).
import { problem } from "../../lib/api";

async function fetched(url: string): Promise<Blob> {
  const reply = await fetch(url, {
    headers: { Authorization: `Bearer ${sessionStorage.getItem("access") ?? ""}` },
  });
  if (!reply.ok) {
    const body: unknown = await reply.json().catch(() => null);
    throw new Error(`the export failed: ${problem(body, reply.status)}`);
  }
  return reply.blob();
}

/** Fetch ``url`` and save it as ``name``. */
export async function download(url: string, name: string): Promise<void> {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await fetched(url));
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/** Fetch the HTML page at ``url`` and show it in a new tab (to print it). */
export async function openInTab(url: string): Promise<void> {
  // NOTE: the tab opens before the fetch, while the click still counts as the user's:
  // a tab opened after an await is blocked as a pop-up
  const tab = window.open("", "_blank");
  try {
    const blob = await fetched(url);
    const address = URL.createObjectURL(new Blob([blob], { type: "text/html" }));
    if (tab) tab.location.href = address;
    else window.location.assign(address);
    setTimeout(() => URL.revokeObjectURL(address), 60_000);
  } catch (e) {
    tab?.close();
    throw e;
  }
}
