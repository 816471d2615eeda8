// One occurrence changed on its own: an exception of its show, keyed by the start its
// rule gives it. An occurrence has at most one exception, so a new one replaces the
// old (and the old comes back when the server refuses the new one).
import { api, ok, type Schemas } from "../../lib/api";

type Show = Schemas["ShowOut"];
type ExceptionIn = Schemas["ExceptionIn"];
export type ShowException = Schemas["ExceptionOut"];

export function exceptionAt(show: Show | undefined, ruleStart: string): ShowException | undefined {
  const at = Date.parse(ruleStart);
  return show?.exceptions.find((e) => Date.parse(e.occurrence_start) === at);
}

export async function dropException(station: string, show: Show, exception: ShowException): Promise<void> {
  const reply = await api.DELETE("/api/v1/stations/{station}/shows/{show_id}/exceptions/{exception_id}", {
    params: { path: { station, show_id: show.id, exception_id: exception.id } },
  });
  if (!reply.response.ok) ok(reply);
}

async function add(station: string, show: Show, body: ExceptionIn): Promise<Show> {
  return ok(
    await api.POST("/api/v1/stations/{station}/shows/{show_id}/exceptions", {
      params: { path: { station, show_id: show.id } },
      body,
    }),
  );
}

/** Cancel, move or substitute the occurrence of ``show`` that the rule starts at ``body.occurrence_start``. */
export async function setException(station: string, show: Show, body: ExceptionIn): Promise<Show> {
  const old = exceptionAt(show, body.occurrence_start);
  if (old) await dropException(station, show, old);
  try {
    return await add(station, show, body);
  } catch (e) {
    if (old) {
      const { id: _id, created_at: _at, ...again } = old;
      await add(station, show, again).catch(() => undefined);
    }
    throw e;
  }
}
