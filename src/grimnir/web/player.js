// The public player of one station (/public/{station}): its stream, and what
// plays from AzuraCast's now-playing answer, kept fresh by the SSE feed.
"use strict";

const shortName = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");
const $ = (id) => document.getElementById(id);

function show(np) {
  const song = np.now_playing && np.now_playing.song;
  $("station").textContent = np.station.name;
  document.title = np.station.name;
  $("song").textContent = song ? song.text : "";
  if (song && song.art && $("art").src !== song.art) $("art").src = song.art;
  $("live").hidden = !np.live.is_live;
  $("live").textContent = np.live.is_live ? `Live: ${np.live.streamer_name}` : "";
  const audio = $("audio");
  if (!audio.src && np.station.listen_url) audio.src = np.station.listen_url;
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
