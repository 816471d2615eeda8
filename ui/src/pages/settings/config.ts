// The station config as GET/PUT /stations/{station}/config carry it (the station YAML
// as JSON). The OpenAPI document types it as a free mapping, so the parts the form
// edits are typed here; everything else passes through untouched.

export type OutputType = "icecast" | "hls" | "recording" | "http" | "file" | "null";

export interface Output {
  type: OutputType;
  format?: string;
  bitrate_kbps?: number;
  url?: string;
  path?: string;
  segment_duration_sec?: number;
  rotation_days?: number;
  [key: string]: unknown;
}

export interface Mount {
  id: string;
  name: string;
  outputs: Output[];
  [key: string]: unknown;
}

export interface DspNode {
  type: string;
  target_lufs?: number;
  true_peak_limit?: number;
  [key: string]: unknown;
}

export interface StationConfig {
  station: { id: string; name: string; timezone: string; description?: string; genre?: string; [key: string]: unknown };
  mounts: Mount[];
  dsp_graph?: { nodes: DspNode[] };
  failover?: {
    live_timeout_sec?: number;
    live_grace_sec?: number;
    automation_fallback_enabled?: boolean;
    emergency_audio_path?: string | null;
    fallback_paths?: string[];
    silence_threshold_db?: number;
    silence_duration_sec?: number;
    layer_fade_ms?: number;
  };
  harbor?: { enabled?: boolean; mounts?: { path: string; name?: string }[]; kick_at_show_end?: boolean };
  [key: string]: unknown;
}

/** One problem of a config, as `grimnir config check` prints it (the server's 422 ``errors``). */
export interface ConfigMessage {
  text: string;
  line: number | null;
  column: number | null;
  path: string | null;
  msg: string;
}

/** The located problems of a 422 answer, else none. */
export function messagesOf(error: unknown): ConfigMessage[] {
  const errors = (error as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors.filter((e): e is ConfigMessage => typeof (e as ConfigMessage)?.text === "string");
}

/** A new output of ``type`` with the server's defaults spelled out. */
export function newOutput(type: "icecast" | "hls" | "recording" | "http", short: string): Output {
  switch (type) {
    case "icecast":
      return { type, url: "icecast://source:PASSWORD@localhost:8000/stream", format: "mp3", bitrate_kbps: 128 };
    case "hls":
      return { type, path: `/var/lib/grimnir/hls/${short}`, format: "aac", bitrate_kbps: 128, segment_duration_sec: 6 };
    case "recording":
      return { type, path: `/var/lib/grimnir/recordings/${short}`, format: "mp3", bitrate_kbps: 192, rotation_days: 30 };
    case "http":
      return { type, path: `/${short}.mp3`, format: "mp3", bitrate_kbps: 128 };
  }
}

export const OUTPUT_NAMES: Record<OutputType, string> = {
  icecast: "Icecast server",
  hls: "HLS segments",
  recording: "Recording",
  http: "Built-in listener server",
  file: "File",
  null: "Null (benchmark)",
};

export const STREAM_FORMATS = ["mp3", "aac", "opus", "vorbis", "flac"];
export const FILE_FORMATS = [...STREAM_FORMATS, "wav"];
export const MP3_BITRATES = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];

/** The bitrates to offer, ``current`` included when it is not a standard one. */
export function bitrates(current: number | undefined): number[] {
  return current === undefined || MP3_BITRATES.includes(current)
    ? MP3_BITRATES
    : [...MP3_BITRATES, current].sort((a, b) => a - b);
}
