// Uploading one file with its progress (fetch has no upload progress: XMLHttpRequest).
import { refreshTokens } from "./api";

export interface UploadResult {
  ok: boolean;
  status: number;
  body: unknown;
}

function send(url: string, file: File, onProgress: (fraction: number) => void): Promise<UploadResult> {
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    const access = sessionStorage.getItem("access");
    if (access) request.setRequestHeader("Authorization", `Bearer ${access}`);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.upload.onload = () => onProgress(1);
    request.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        body = request.responseText;
      }
      resolve({ ok: request.status >= 200 && request.status < 300, status: request.status, body });
    };
    request.onerror = () => resolve({ ok: false, status: 0, body: "the connection failed" });
    const form = new FormData();
    form.append("file", file, file.name);
    request.send(form);
  });
}

/** POST ``file`` to ``url`` as multipart field ``file`` (once more after a 401, with new tokens). */
export async function sendFile(url: string, file: File, onProgress: (fraction: number) => void): Promise<UploadResult> {
  const first = await send(url, file, onProgress);
  if (first.status === 401 && (await refreshTokens())) return send(url, file, onProgress);
  return first;
}

/** Upload ``file`` to the station's library. */
export function upload(station: string, file: File, onProgress: (fraction: number) => void): Promise<UploadResult> {
  return sendFile(`/api/v1/stations/${encodeURIComponent(station)}/media`, file, onProgress);
}

/** Every file of a drop, folders walked (``webkitGetAsEntry``). */
export async function droppedFiles(transfer: DataTransfer): Promise<File[]> {
  const entries = [...transfer.items]
    .map((item) => item.webkitGetAsEntry?.())
    .filter((entry): entry is FileSystemEntry => Boolean(entry));
  if (!entries.length) return [...transfer.files];
  const files: File[] = [];
  async function walk(entry: FileSystemEntry): Promise<void> {
    if (entry.isFile) {
      files.push(
        await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail)),
      );
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
        if (!batch.length) break;
        for (const child of batch) await walk(child);
      }
    }
  }
  for (const entry of entries) await walk(entry);
  return files;
}
