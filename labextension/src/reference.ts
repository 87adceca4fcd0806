/**
 * The reference MIME type and the pure decisions about it: is the data a valid reference,
 * where is its file (from the page's base URL), how to show its original type, what to say
 * when the file is gone. No DOM and no JupyterLab imports, so node's test runner checks it.
 */

/** The MIME type the kernel puts in every virtual output's bundle. */
export const MIME_TYPE = 'application/vnd.vfs-ext.v1+json';

/** Payloads from this size on show a progress bar while they are fetched. */
export const PROGRESS_MIN_BYTES = 2 * 1024 * 1024;

/** The one pattern of a virtual file's name (vfs_ext/names.py NAME_PATTERN). */
const NAME_RE = /^[0-9a-f]{16}-[0-9a-f]{12}-[0-9a-f]{32}\.[a-z0-9]{1,16}$/;

/** A MIME type as a token: no spaces, quotes or markup. */
const MIME_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;

/** What the kernel wrote: a virtual file and what it stands for. */
export interface IReference {
  /** The virtual file's name; the URL is built from it and the page's base URL. */
  name: string;
  /** The MIME type of the payload the file holds (the original output's type). */
  mime: string;
  /** Bytes in the file. */
  size: number;
  /** Content hash (e.g. ``sha256:...``), when the writer computed one. */
  hash?: string;
  alt?: string;
  width?: number | string;
  height?: number | string;
  /** The payload's own pixel size (images), so its room is kept before it loads. */
  dimensions?: { width: number; height: number };
  /** The original output's metadata for its MIME type (e.g. an image's ``unconfined``). */
  metadata?: { [key: string]: unknown };
}

/** How the original type is shown: by ``src`` (streamed by the browser), by fetching the
 * payload for JupyterLab's own renderer, or as a link when nothing in the page can show it. */
export type Strategy =
  | { kind: 'src'; element: 'img' | 'video' | 'audio' | 'object' }
  | { kind: 'fetch'; as: 'json' | 'text' }
  | { kind: 'link' };

function isDimension(value: unknown): value is number | string {
  return (
    (typeof value === 'number' && Number.isFinite(value) && value > 0) ||
    (typeof value === 'string' && /^\d+(\.\d+)?(px|%|em|rem)?$/.test(value))
  );
}

/** The reference in ``data``, or null when it is not one (hostile or corrupted notebooks). */
export function parseReference(data: unknown): IReference | null {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return null;
  }
  const d = data as { [key: string]: unknown };
  const { name, mime, size } = d;
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    return null;
  }
  if (typeof mime !== 'string' || !MIME_RE.test(mime)) {
    return null;
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    return null;
  }
  const ref: IReference = { name, mime: mime.toLowerCase(), size };
  if (typeof d.hash === 'string') {
    ref.hash = d.hash;
  }
  if (typeof d.alt === 'string') {
    ref.alt = d.alt;
  }
  if (isDimension(d.width)) {
    ref.width = d.width;
  }
  if (isDimension(d.height)) {
    ref.height = d.height;
  }
  const dims = d.dimensions as { [key: string]: unknown } | undefined;
  if (
    typeof dims === 'object' &&
    dims !== null &&
    isDimension(dims.width) &&
    isDimension(dims.height) &&
    typeof dims.width === 'number' &&
    typeof dims.height === 'number'
  ) {
    ref.dimensions = { width: dims.width, height: dims.height };
  }
  if (
    typeof d.metadata === 'object' &&
    d.metadata !== null &&
    !Array.isArray(d.metadata)
  ) {
    ref.metadata = d.metadata as { [key: string]: unknown };
  }
  return ref;
}

/** The file's URL under the page's own base URL (absolute or a path ending in ``/``):
 * a notebook saved under another base_url (another hub user, a renamed server) still finds
 * its files, because the kernel's URL is never used. */
export function fileUrl(baseUrl: string, name: string): string {
  if (!NAME_RE.test(name)) {
    throw new Error(`not a virtual file name: ${name}`);
  }
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
  return `${base}@file/${name}`;
}

/** Human-readable bytes in binary units, as the kernel writes them (vfs_ext.config). */
export function formatSize(n: number): string {
  let size = n;
  for (const unit of ['B', 'KiB', 'MiB', 'GiB']) {
    if (Math.abs(size) < 1024 || unit === 'GiB') {
      return unit === 'B'
        ? `${Math.trunc(size)} B`
        : `${size.toFixed(1)} ${unit}`;
    }
    size /= 1024;
  }
  return `${size.toFixed(1)} GiB`;
}

/** Whether a MIME type's payload is JSON (``+json``, and Vega-Lite's ``.json`` suffix). */
export function isJson(mime: string): boolean {
  return (
    mime === 'application/json' ||
    mime.endsWith('+json') ||
    mime.endsWith('.json')
  );
}

/** How to show a payload of this type (see Strategy). */
export function strategyFor(mime: string): Strategy {
  if (mime === 'image/svg+xml') {
    return { kind: 'fetch', as: 'text' }; // JupyterLab's SVG renderer, with its sanitizing
  }
  if (mime.startsWith('image/')) {
    return { kind: 'src', element: 'img' };
  }
  if (mime.startsWith('video/')) {
    return { kind: 'src', element: 'video' };
  }
  if (mime.startsWith('audio/')) {
    return { kind: 'src', element: 'audio' };
  }
  if (mime === 'application/pdf') {
    return { kind: 'src', element: 'object' };
  }
  if (isJson(mime)) {
    return { kind: 'fetch', as: 'json' };
  }
  if (mime.startsWith('text/') || mime === 'application/javascript') {
    return { kind: 'fetch', as: 'text' };
  }
  return { kind: 'link' };
}

/** Whether fetching this many bytes deserves a progress bar. */
export function showsProgress(size: number): boolean {
  return size >= PROGRESS_MIN_BYTES;
}

/** A short name for what the output was, for people rather than for the registry. */
export function describe(ref: IReference): string {
  return `${ref.mime}, ${formatSize(ref.size)}`;
}

/** What a placeholder says when the file could not be loaded. */
export function placeholderText(
  ref: IReference,
  status: number | null
): string {
  const what = `This output (${describe(ref)})`;
  if (status === 404 || status === 410) {
    return `${what} is no longer available: its file is gone (the kernel that wrote it stopped, or the cell was re-run). Re-run the cell to show it again.`;
  }
  if (status === 403) {
    return `${what} could not be loaded: access denied (log in again, then reload the page).`;
  }
  const reason =
    status === null ? 'the server did not answer' : `HTTP ${status}`;
  return `${what} could not be loaded (${reason}). Re-run the cell to show it again.`;
}

/** The margin around the scrolling area within which outputs start loading: one screen
 * ahead and behind, so scrolling rarely shows a blank. */
export const PRELOAD_MARGIN = '100% 0px 100% 0px';

/** A vertical extent on the page, as ``getBoundingClientRect`` gives it. */
export interface ISpan {
  top: number;
  bottom: number;
}

/** Whether an output is within PRELOAD_MARGIN of its scrolling area (one area's height
 * above and below), as the IntersectionObserver would find at the next frame. An output
 * with no size yet (not laid out, in a hidden panel) is not: the observer decides. */
export function nearView(output: ISpan, area: ISpan): boolean {
  const height = area.bottom - area.top;
  if (output.bottom <= output.top || height <= 0) {
    return false;
  }
  return (
    output.bottom >= area.top - height && output.top <= area.bottom + height
  );
}
