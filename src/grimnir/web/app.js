// Grimnir Radio status page: now playing, next, meters, history, skip.
// Plain JS, no framework; the API is the only back end. Tokens live in
// sessionStorage (gone with the tab); the access token is refreshed before it
// expires with the rotating refresh token.
"use strict";

const API = "/api/v1";
const EVENT_TYPES = "telemetry,item.started,now_playing";
const $ = (id) => document.getElementById(id);
const state = { station: null, socket: null, retry: 0, refreshTimer: null, current: null };

// -- errors ------------------------------------------------------------------------------

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function problem(response) {
  try {
    const body = await response.json();
    if (body && body.detail) return String(body.detail);
  } catch (_) { /* not JSON */ }
  return `${response.status} ${response.statusText}`;
}

// -- tokens ------------------------------------------------------------------------------

function tokens() {
  return {
    access: sessionStorage.getItem("access"),
    refresh: sessionStorage.getItem("refresh"),
    expiresAt: Number(sessionStorage.getItem("expiresAt") || 0),
  };
}

function saveTokens(pair) {
  sessionStorage.setItem("access", pair.access_token);
  sessionStorage.setItem("refresh", pair.refresh_token);
  sessionStorage.setItem("expiresAt", String(Date.now() + pair.expires_in * 1000));
  scheduleRefresh();
}

function clearTokens() {
  for (const key of ["access", "refresh", "expiresAt"]) sessionStorage.removeItem(key);
  clearTimeout(state.refreshTimer);
}

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  const { refresh, expiresAt } = tokens();
  if (!refresh) return;
  const wait = Math.max(5000, expiresAt - Date.now() - 60000);
  state.refreshTimer = setTimeout(refreshTokens, wait);
}

async function refreshTokens() {
  const { refresh } = tokens();
  if (!refresh) return false;
  const response = await fetch(`${API}/auth/refresh`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: refresh }),
  });
  if (!response.ok) {
    clearTokens();
    showError(`Signed out: ${await problem(response)}. Sign in again.`);
    renderAccount(null);
    return false;
  }
  saveTokens(await response.json());
  return true;
}

// -- API ---------------------------------------------------------------------------------

async function api(path, options = {}, retried = false) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const { access } = tokens();
  if (access) headers.Authorization = `Bearer ${access}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method: options.method || "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (response.status === 401 && access && !retried && (await refreshTokens())) {
    return api(path, options, true);
  }
  if (!response.ok) throw new Error(await problem(response));
  return response.status === 204 ? null : response.json();
}

const signedIn = () => Boolean(tokens().access);
const items = (data) => (Array.isArray(data) ? data : (data && data.items) || []);

// -- rendering ---------------------------------------------------------------------------

function describe(item) {
  if (!item) return "–";
  const song = item.song || item;
  const title = song.title || song.text || "untitled";
  return song.artist ? `${song.artist} — ${title}` : title;
}

function seconds(value, unitMs) {
  if (value === undefined || value === null) return null;
  return unitMs ? value / 1000 : value;
}

function renderNowPlaying(data) {
  const current = data.current || data.now_playing || null;
  let next = data.next !== undefined ? data.next : data.playing_next;
  if (Array.isArray(next)) next = next[0];
  $("now").textContent = describe(current);
  $("next").textContent = describe(next);
  state.current = null;
  if (current) {
    const started = Date.parse(current.started_at || current.played_at || "");
    const length = seconds(current.duration_ms, true) ?? seconds(current.duration, false);
    if (!Number.isNaN(started) && length) state.current = { started, length };
  }
  const station = data.station || {};
  const urls = station.listen_urls || (station.listen_url ? [station.listen_url] : []);
  const listen = $("listen");
  listen.replaceChildren();
  for (const url of urls) {
    const link = document.createElement("a");
    link.href = url;
    link.textContent = url;
    const player = document.createElement("audio");
    player.controls = true;
    player.preload = "none";
    player.src = url;
    listen.append(link, " ", player);
  }
  if (!urls.length) listen.textContent = "–";
  tick();
}

function tick() {
  const bar = $("position");
  if (!state.current) {
    bar.value = 0;
    return;
  }
  const elapsed = (Date.now() - state.current.started) / 1000;
  bar.value = Math.min(1, Math.max(0, elapsed / state.current.length));
}

function renderMeters(data) {
  const peaks = data.peak_db || [];
  const rms = data.rms_db || [];
  ["l", "r"].forEach((side, i) => {
    if (peaks[i] === undefined) return;
    $(`meter-${side}`).value = Math.max(-60, Math.min(0, peaks[i]));
    const level = rms[i] === undefined ? "" : ` / ${rms[i].toFixed(1)}`;
    $(`meter-${side}-db`).textContent = `${peaks[i].toFixed(1)}${level} dB`;
  });
  if (typeof data.lufs_momentary === "number") {
    $("lufs").textContent = `${data.lufs_momentary.toFixed(1)} LUFS (momentary)`;
  }
}

function renderHistory(rows) {
  const list = $("history");
  list.replaceChildren();
  const sorted = [...rows].sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
  for (const row of sorted.slice(0, 10)) {
    const li = document.createElement("li");
    const time = document.createElement("time");
    time.dateTime = row.started_at;
    time.textContent = new Date(row.started_at).toLocaleTimeString();
    li.append(time, describe(row));
    list.append(li);
  }
  if (!sorted.length) list.textContent = "Nothing aired yet.";
}

function renderAccount(me) {
  $("who").textContent = me ? `Signed in as ${me.username}` : "";
  $("signout").hidden = !me;
  $("signin-section").hidden = Boolean(me);
  $("skip").disabled = !me;
}

// -- loading -----------------------------------------------------------------------------

async function loadStations() {
  let stations;
  let me = null;
  if (signedIn()) {
    me = await api("/auth/me");
    stations = me.stations;
  } else {
    stations = items(await api("/public/stations"));
  }
  renderAccount(me);
  const select = $("station");
  const wanted = new URLSearchParams(location.search).get("station") || sessionStorage.getItem("station");
  select.replaceChildren();
  for (const station of stations) {
    const option = document.createElement("option");
    option.value = station.short_name || station.shortcode || station.id;
    option.textContent = station.name;
    select.append(option);
  }
  if (wanted && [...select.options].some((o) => o.value === wanted)) select.value = wanted;
  await selectStation(select.value || null);
}

async function selectStation(station) {
  state.station = station;
  if (station) sessionStorage.setItem("station", station);
  connectEvents();
  await Promise.all([loadNowPlaying(), loadHistory()]);
}

async function loadNowPlaying() {
  if (!state.station) return;
  renderNowPlaying(await api(`/public/stations/${encodeURIComponent(state.station)}/now-playing`));
}

async function loadHistory() {
  if (!state.station || !signedIn()) {
    $("history").textContent = signedIn() ? "" : "Sign in to see the history.";
    return;
  }
  renderHistory(items(await api(`/stations/${encodeURIComponent(state.station)}/asrun?limit=10`)));
}

const guarded = (work) => (...args) => work(...args).then(() => showError(""), (e) => showError(e.message));

// -- live events -------------------------------------------------------------------------

function connectEvents() {
  if (state.socket) {
    state.socket.onclose = null;
    state.socket.close();
    state.socket = null;
  }
  const { access } = tokens();
  if (!access || !state.station) {
    $("live-state").textContent = "sign in for live meters";
    return;
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = new URLSearchParams({ token: access, station: state.station, types: EVENT_TYPES });
  const socket = new WebSocket(`${scheme}://${location.host}${API}/events?${query}`);
  state.socket = socket;
  socket.onopen = () => {
    state.retry = 0;
    $("live-state").textContent = "live";
  };
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "telemetry") renderMeters(event.data || {});
    else if (event.type === "item.started" || event.type === "now_playing") {
      guarded(loadNowPlaying)();
      guarded(loadHistory)();
    }
  };
  socket.onclose = async (close) => {
    state.socket = null;
    $("live-state").textContent = "reconnecting…";
    if (close.code === 4401 && !(await refreshTokens())) return;
    if (close.code === 4403) {
      $("live-state").textContent = "no access to this station's events";
      return;
    }
    const wait = Math.min(30000, 1000 * 2 ** state.retry++);
    setTimeout(connectEvents, wait);
  };
}

// -- actions -----------------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const response = await fetch(`${API}/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: $("username").value, password: $("password").value }),
  });
  if (!response.ok) throw new Error(await problem(response));
  saveTokens(await response.json());
  $("password").value = "";
  await loadStations();
}

async function signOut() {
  const { refresh } = tokens();
  clearTokens();
  if (refresh) {
    await fetch(`${API}/auth/logout`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: refresh }),
    });
  }
  await loadStations();
}

async function skip() {
  $("skip").disabled = true;
  try {
    await api(`/stations/${encodeURIComponent(state.station)}/playout/skip`, { method: "POST", body: {} });
  } finally {
    $("skip").disabled = !signedIn();
  }
  setTimeout(guarded(loadNowPlaying), 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin").addEventListener("submit", (e) => guarded(signIn)(e));
  $("signout").addEventListener("click", guarded(signOut));
  $("skip").addEventListener("click", guarded(skip));
  $("station").addEventListener("change", (e) => guarded(selectStation)(e.target.value));
  scheduleRefresh();
  guarded(loadStations)();
  setInterval(tick, 1000);
  setInterval(guarded(loadNowPlaying), 15000);
});
