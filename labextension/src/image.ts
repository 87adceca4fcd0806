/**
 * Images. By default (``blob``) by ``fetch`` into a Blob: the body goes to the browser's blob
 * storage (off the page's main thread and outside the JS heap), is decoded by ``img.decode()``
 * on a detached ``<img>``, and only the decoded image is attached. An ``<img src>`` of the
 * file's URL (``src``, ``async``) receives its body on the main thread and decodes it after
 * ``load`` (docs/frontend.md, "Where a virtual image's time goes").
 */

import { imageElement, imageHost, showBySrc } from './media';
import { isAbort, request } from './page';
import { IReference, imageLoading } from './reference';
import { IOutputView } from './view';

/** Show the image of ``ref`` in ``view`` as the page asks (``imageLoading``). */
export async function showImage(
  view: IOutputView,
  ref: IReference,
  url: string,
  signal: AbortSignal
): Promise<void> {
  const img = imageElement(ref);
  const how = imageLoading(document.documentElement.dataset.vfsExtImageLoading);
  if (how === 'src' || how === 'async') {
    img.decoding = how === 'async' ? 'async' : 'auto';
    showBySrc(view, ref, url, img, signal);
    return;
  }
  view.showLoading(ref);
  const blob = await fetchBlob(url, signal);
  if (signal.aborted) {
    return;
  }
  if (!(blob instanceof Blob)) {
    view.showMissing(ref, blob);
    return;
  }
  const objectUrl = URL.createObjectURL(blob);
  // Kept while the image shows (copy, open in a new tab); dropped with the output.
  signal.addEventListener('abort', () => URL.revokeObjectURL(objectUrl), {
    once: true
  });
  img.src = objectUrl;
  if (how === 'decoded') {
    const ok = await img.decode().then(
      () => true,
      () => false
    );
    if (signal.aborted) {
      return;
    }
    if (!ok) {
      view.showMissing(ref, 200); // served, but not an image this browser decodes
      return;
    }
    view.swap(imageHost(img));
    view.setState('loaded');
    return;
  }
  img.addEventListener('load', () => view.setState('loaded'), { once: true });
  img.addEventListener('error', () => view.showMissing(ref, 200), {
    once: true
  });
  view.swap(imageHost(img));
}

/** The file as a Blob; the HTTP status when the server refused it, null when it did not
 * answer. An abort (the output went away) is thrown. */
async function fetchBlob(
  url: string,
  signal: AbortSignal
): Promise<Blob | number | null> {
  let response: Response;
  try {
    // Names are never reused for other bytes: the HTTP cache may answer (a re-opened notebook).
    response = await request(url, { cache: 'default', signal });
  } catch (err) {
    if (isAbort(err)) {
      throw err;
    }
    return null;
  }
  if (!response.ok) {
    return response.status;
  }
  return response.blob();
}
