/**
 * The elements a virtual output's media is shown in, built as JupyterLab and the kernel's
 * fallback HTML build them: ``<img>`` with its size kept before it loads, ``<video>`` and
 * ``<audio>`` with the output's flags, the browser's PDF viewer; and media shown by ``src``,
 * which the browser streams and decodes without passing the bytes through JS.
 */

import { Widget } from '@lumino/widgets';

import { probe } from './page';
import { IReference, describe, formatSize, showsProgress } from './reference';
import { IOutputView } from './view';

/** An ``<img>`` with the output's alt text and size. */
function imageElement(ref: IReference): HTMLImageElement {
  const img = document.createElement('img');
  img.alt = ref.alt ?? '';
  sizeImage(img, ref);
  return img;
}

/** A ``<video>`` or ``<audio>`` with the output's flags (controls unless turned off). */
function mediaElement(
  ref: IReference,
  tag: 'video' | 'audio'
): HTMLMediaElement {
  const media = document.createElement(tag);
  const flags = ref.metadata ?? {};
  media.controls = flags.controls !== false;
  media.autoplay = flags.autoplay === true;
  media.loop = flags.loop === true;
  media.muted = flags.muted === true;
  media.preload = 'metadata';
  if (tag === 'video' && ref.width !== undefined) {
    media.setAttribute('width', String(ref.width));
  }
  return media;
}

/** Width/height as the kernel gave them, else the intrinsic size, so the room is known
 * before the image arrives; the image keeps its aspect ratio when narrowed. */
function sizeImage(img: HTMLImageElement, ref: IReference): void {
  const explicit = ref.width !== undefined || ref.height !== undefined;
  const width = explicit ? ref.width : ref.dimensions?.width;
  const height = explicit ? ref.height : ref.dimensions?.height;
  if (width !== undefined) {
    img.setAttribute('width', String(width));
  }
  if (height !== undefined) {
    img.setAttribute('height', String(height));
  }
  const w = Number(width);
  const h = Number(height);
  if (w > 0 && h > 0) {
    img.style.aspectRatio = `${w} / ${h}`;
  }
  if (ref.metadata?.unconfined === true) {
    img.classList.add('jp-mod-unconfined');
  }
}

/** A box the size the image will take (its display size, else its pixel size), or null. */
export function imageBox(ref: IReference): HTMLElement | null {
  if (!ref.mime.startsWith('image/')) {
    return null;
  }
  const explicit = ref.width !== undefined || ref.height !== undefined;
  const w = Number(explicit ? ref.width : ref.dimensions?.width);
  const h = Number(explicit ? ref.height : ref.dimensions?.height);
  if (!(w > 0 && h > 0)) {
    return null;
  }
  const box = document.createElement('div');
  box.className = 'jp-VfsReference-box';
  box.style.width = `${w}px`;
  box.style.aspectRatio = `${w} / ${h}`;
  box.title = describe(ref);
  return box;
}

/** The browser's PDF viewer, as the kernel's fallback HTML has it, with a link inside for
 * browsers without one. */
export function pdfObject(ref: IReference, url: string): HTMLElement {
  const obj = document.createElement('object');
  obj.setAttribute('data', url);
  obj.setAttribute('type', 'application/pdf');
  obj.setAttribute('width', '100%');
  obj.setAttribute('height', String(ref.height ?? 600));
  const a = document.createElement('a');
  a.href = url;
  a.target = '_blank';
  a.rel = 'noopener';
  a.textContent = `Open PDF ${ref.name} (${formatSize(ref.size)})`;
  obj.appendChild(a);
  return obj;
}

/** A link that downloads the file, for types nothing in the page can show. */
export function downloadLink(ref: IReference, url: string): HTMLElement {
  const a = document.createElement('a');
  a.href = url;
  a.download = ref.name;
  a.target = '_blank';
  a.rel = 'noopener';
  a.textContent = `Download ${ref.name} (${describe(ref)})`;
  return a;
}

/** Show media by ``src``: images, video and audio, the PDF viewer. */
export async function showMedia(
  view: IOutputView,
  ref: IReference,
  url: string,
  tag: 'img' | 'video' | 'audio' | 'object',
  signal: AbortSignal
): Promise<void> {
  if (tag !== 'object') {
    const el = tag === 'img' ? imageElement(ref) : mediaElement(ref, tag);
    showBySrc(view, ref, url, el, signal);
    return;
  }
  // A PDF viewer shows the server's error page on 404, with no event: ask first.
  const status = await probe(url, signal);
  if (status !== 200) {
    view.showMissing(ref, status);
    return;
  }
  view.swap(new Widget({ node: pdfObject(ref, url) }));
  view.setState('loaded');
}

/** Attach ``el`` and set its ``src``; a failed load becomes a placeholder. The browser
 * streams and decodes the file, never through JS memory. */
function showBySrc(
  view: IOutputView,
  ref: IReference,
  url: string,
  el: HTMLImageElement | HTMLMediaElement,
  signal: AbortSignal
): void {
  const host = new Widget();
  const image = el instanceof HTMLImageElement;
  if (image) {
    host.addClass('jp-RenderedImage'); // JupyterLab's class for images, for its styles
  }
  host.node.appendChild(el);
  const note = image && showsProgress(ref.size) ? loadingNote(host, ref) : null;
  const ready = image ? 'load' : 'loadedmetadata';
  el.addEventListener(
    ready,
    () => {
      note?.();
      view.setState('loaded');
    },
    { once: true }
  );
  el.addEventListener(
    'error',
    () => {
      note?.();
      void onError(view, ref, url, signal);
    },
    { once: true }
  );
  view.swap(host);
  view.setState('loading');
  el.setAttribute('src', url);
}

/** A note over an image of several MiB while it arrives: an ``<img>`` reports no progress,
 * so the bar is indeterminate. It lies over the image's room (kept from its dimensions), so
 * nothing moves when it goes. Returns the function that removes it. */
function loadingNote(host: Widget, ref: IReference): () => void {
  const note = document.createElement('div');
  note.className = 'jp-VfsReference-loading';
  const bar = document.createElement('progress'); // no value: indeterminate
  note.append(bar, ` Loading ${describe(ref)}…`);
  host.addClass('jp-mod-loading');
  host.node.appendChild(note);
  return () => {
    note.remove();
    host.removeClass('jp-mod-loading');
  };
}

/** A broken element becomes the placeholder the server's answer calls for. */
async function onError(
  view: IOutputView,
  ref: IReference,
  url: string,
  signal: AbortSignal
): Promise<void> {
  if (signal.aborted) {
    return;
  }
  view.clear(); // the broken element goes before anyone sees it
  let status: number | null;
  try {
    status = await probe(url, signal);
  } catch {
    return; // aborted: the output went away
  }
  view.showMissing(ref, status);
}
