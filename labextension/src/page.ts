/**
 * What the renderer needs to know about the page: its base URL, the scrolling area an output
 * sits in, and the server's answer for a file (to tell a gone file from a broken one).
 */

import { PageConfig } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The page's base URL, as a path when it is on the page's own origin (as the kernel's
 * fallback HTML writes it). */
export function basePath(): string {
  const base = new URL(PageConfig.getBaseUrl(), window.location.href);
  return base.origin === window.location.origin ? base.pathname : base.href;
}

/** The absolute form ServerConnection.makeRequest wants (it checks the base URL). */
export function absolute(url: string): string {
  return new URL(url, window.location.href).href;
}

/** The outermost scrolling ancestor: the notebook's own scroller, so the preload margin
 * counts in its height (an observer rooted at the viewport would be clipped by it). */
export function scrollRoot(node: HTMLElement): HTMLElement | null {
  let found: HTMLElement | null = null;
  for (let el = node.parentElement; el; el = el.parentElement) {
    const overflow = getComputedStyle(el).overflowY;
    if (overflow === 'auto' || overflow === 'scroll') {
      found = el;
    }
  }
  return found;
}

/** The extent of the scrolling area (the window's when there is none). */
export function viewOf(root: HTMLElement | null): {
  top: number;
  bottom: number;
} {
  return root
    ? root.getBoundingClientRect()
    : { top: 0, bottom: window.innerHeight };
}

/** A request to this server (its token and XSRF headers added), by the page's fetch. */
export function request(url: string, init: RequestInit): Promise<Response> {
  return ServerConnection.makeRequest(
    absolute(url),
    init,
    ServerConnection.makeSettings()
  );
}

/** The status of a HEAD request, null when the server did not answer; an abort is thrown. */
export async function probe(
  url: string,
  signal: AbortSignal
): Promise<number | null> {
  try {
    const response = await request(url, {
      method: 'HEAD',
      cache: 'no-store',
      signal
    });
    return response.status;
  } catch (err) {
    if (isAbort(err)) {
      throw err;
    }
    return null;
  }
}

/** Whether an error is an AbortController's abort (the output went away). */
export function isAbort(err: unknown): boolean {
  return (err as Error)?.name === 'AbortError';
}
