// The public player of one station (/public/{station}): its stream, what plays
// (AzuraCast's now-playing answer, kept fresh by the SSE feed), what played,
// and the shows ahead. Made to be linked or put in an <iframe> on a station's site.
"use strict";

const shortName = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");
const $ = (id) => document.getElementById(id);
const SCHEDULE_EVERY_MS = 5 * 60 * 1000;

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function day(seconds) {
  return new Date(seconds * 1000).toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" });
}

function item(text, detail, picture) {
  const li = document.createElement("li");
  if (picture) {
    const img = document.createElement("img");
    img.src = picture;
    img.alt = "";
    img.width = img.height = 48;
    img.loading = "lazy";
    li.append(img);
  }
  const words = document.createElement("span");
  words.textContent = text;
  const small = document.createElement("small");
  small.textContent = detail;
  li.append(words, small);
  return li;
}

function show(np) {
  const song = np.now_playing && np.now_playing.song;
  $("station").textContent = np.station.name;
  document.title = np.station.name;
  $("song").textContent = song ? song.text : "";
  if (song && song.art && $("art").src !== song.art) $("art").src = song.art;
  $("art").alt = song && song.text ? `Cover: ${song.text}` : np.station.name;
  $("live").hidden = !np.live.is_live;
  $("live").textContent = np.live.is_live ? `Live: ${np.live.streamer_name}` : "";
  const next = np.playing_next && np.playing_next.song;
  $("next").textContent = next && next.text ? `Next: ${next.text}` : "";
  $("history").replaceChildren(
    ...(np.song_history || []).map((h) => item(h.song.text, clock(h.played_at), h.song.art))
  );
  const audio = $("audio");
  if (!audio.src && np.station.listen_url) audio.src = np.station.listen_url;
}

async function schedule() {
  const answer = await fetch(`/api/station/${encodeURIComponent(shortName)}/schedule`);
  if (!answer.ok) return;
  const shows = await answer.json();
  $("schedule").replaceChildren(
    ...shows.map((s) => {
      const when = s.is_now ? "On air now" : `${day(s.start_timestamp)} ${clock(s.start_timestamp)}–${clock(s.end_timestamp)}`;
      const li = item(s.title || s.name, when, "");
      if (s.is_now) li.classList.add("now-on");
      return li;
    })
  );
  $("no-shows").hidden = shows.length > 0;
}

function fail(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

async function start() {
  const answer = await fetch(`/api/nowplaying/${encodeURIComponent(shortName)}`);
  if (!answer.ok) {
    fail(`No station ${shortName}.`);
    return;
  }
  show(await answer.json());
  schedule().catch(() => {});
  setInterval(() => schedule().catch(() => {}), SCHEDULE_EVERY_MS);
  const subs = { subs: { [`station:${shortName}`]: { recover: true } } };
  const feed = new EventSource(
    `/api/live/nowplaying/sse?cf_connect=${encodeURIComponent(JSON.stringify(subs))}`
  );
  feed.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.pub) show(message.pub.data.np);
  };
}

start().catch((err) => fail(String(err)));
