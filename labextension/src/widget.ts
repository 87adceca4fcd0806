/**
 * The renderer of a virtual output: waits until the output nears the viewport, then shows
 * the file with JupyterLab's own renderer for its original type (or by ``src`` for media),
 * and a placeholder instead of a broken image when the file is gone.
 */

import { PageConfig } from '@jupyterlab/coreutils';
import { MimeModel, IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { ServerConnection } from '@jupyterlab/services';
import { Message } from '@lumino/messaging';
import { PanelLayout, Widget } from '@lumino/widgets';

import {
  IReference,
  PRELOAD_MARGIN,
  describe,
  fileUrl,
  formatSize,
  nearView,
  parseReference,
  placeholderText,
  showsProgress,
  strategyFor
} from './reference';

/** Loading states, on ``data-vfs-state`` for styles and tests. */
type State = 'waiting' | 'loading' | 'loaded' | 'missing' | 'error';

/** The page's base URL, as a path when it is on the page's own origin (as the kernel's
 * fallback HTML writes it). */
function basePath(): string {
  const base = new URL(PageConfig.getBaseUrl(), window.location.href);
  return base.origin === window.location.origin ? base.pathname : base.href;
}

/** The absolute form ServerConnection.makeRequest wants (it checks the base URL). */
function absolute(url: string): string {
  return new URL(url, window.location.href).href;
}

/** The outermost scrolling ancestor: the notebook's own scroller, so the preload margin
 * counts in its height (an observer rooted at the viewport would be clipped by it). */
function scrollRoot(node: HTMLElement): HTMLElement | null {
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
function viewOf(root: HTMLElement | null): { top: number; bottom: number } {
  return root
    ? root.getBoundingClientRect()
    : { top: 0, bottom: window.innerHeight };
}

/** The renderer for ``application/vnd.vfs-ext.v1+json``. */
export class ReferenceRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(
    private readonly options: IRenderMime.IRendererOptions,
    private readonly registry: IRenderMimeRegistry
  ) {
    super();
    this.addClass('jp-VfsReference');
    this.layout = new PanelLayout();
  }

  /** Remember what to show and return at once: the file loads when the output nears the
   * viewport (the output area does not wait for it). */
  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.reset();
    this.ref = parseReference(model.data[this.options.mimeType]);
    this.trusted = model.trusted;
    if (!this.ref) {
      this.showStatus(
        'error',
        'vfs_ext: this output carries an invalid file reference.'
      );
      return Promise.resolve();
    }
    this.showWaiting(this.ref);
    this.observe();
    return Promise.resolve();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.reset();
    super.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.observe();
  }

  protected onBeforeDetach(msg: Message): void {
    this.observer?.disconnect();
    this.observer = null;
    super.onBeforeDetach(msg);
  }

  /** Start watching for the viewport once attached and given a reference, until loaded. */
  private observe(): void {
    if (!this.isAttached || !this.ref || this.started || this.observer) {
      return;
    }
    const root = scrollRoot(this.node);
    if (
      typeof IntersectionObserver === 'undefined' ||
      nearView(this.node.getBoundingClientRect(), viewOf(root))
    ) {
      // An output that appears in view (a cell just run) loads at once: the observer's
      // first answer comes only after the next frame, 12-25 ms here (bench.browser
      // --breakdown). The layout read here is the one that frame would do.
      void this.load(this.ref);
      return;
    }
    const observer = new IntersectionObserver(
      entries => {
        if (entries.some(e => e.isIntersecting) && this.ref && !this.started) {
          observer.disconnect();
          this.observer = null;
          void this.load(this.ref);
        }
      },
      { root, rootMargin: PRELOAD_MARGIN }
    );
    observer.observe(this.node);
    this.observer = observer;
  }

  /** Abort what is under way and empty the widget (a new model, or disposal). */
  private reset(): void {
    this.observer?.disconnect();
    this.observer = null;
    this.abort?.abort();
    this.abort = null;
    this.started = false;
    for (const media of Array.from(
      this.node.querySelectorAll('img, video, audio')
    )) {
      // Stops a download the browser streams for an element about to go.
      (media as HTMLImageElement).removeAttribute('src');
    }
    this.clear();
  }

  private clear(): void {
    const layout = this.layout as PanelLayout;
    for (const child of [...layout.widgets]) {
      child.dispose();
    }
  }

  private async load(ref: IReference): Promise<void> {
    this.started = true;
    const url = fileUrl(basePath(), ref.name);
    const strategy = strategyFor(ref.mime);
    try {
      if (strategy.kind === 'src') {
        await this.bySrc(ref, url, strategy.element);
      } else if (strategy.kind === 'fetch') {
        await this.byFetch(ref, url, strategy.as);
      } else {
        this.showLink(ref, url);
      }
    } catch (err) {
      if ((err as Error)?.name !== 'AbortError' && !this.isDisposed) {
        this.showStatus('error', `vfs_ext: could not show this output: ${err}`);
      }
    }
  }

  /** Media by ``src``: the browser streams and decodes it, never through JS memory. */
  private async bySrc(
    ref: IReference,
    url: string,
    tag: 'img' | 'video' | 'audio' | 'object'
  ): Promise<void> {
    if (tag === 'object') {
      // A PDF viewer shows the server's error page on 404, with no event: ask first.
      const status = await this.probe(url);
      if (status !== 200) {
        this.showMissing(ref, status);
        return;
      }
      this.swap(new Widget({ node: pdfObject(ref, url) }));
      this.setState('loaded');
      return;
    }
    const el = document.createElement(tag);
    const host = new Widget();
    if (tag === 'img') {
      host.addClass('jp-RenderedImage');
      const img = el as HTMLImageElement;
      img.alt = ref.alt ?? '';
      sizeImage(img, ref);
    } else {
      const media = el as HTMLMediaElement;
      const flags = ref.metadata ?? {};
      media.controls = flags.controls !== false;
      media.autoplay = flags.autoplay === true;
      media.loop = flags.loop === true;
      media.muted = flags.muted === true;
      media.preload = 'metadata';
      if (tag === 'video' && ref.width !== undefined) {
        media.setAttribute('width', String(ref.width));
      }
    }
    host.node.appendChild(el);
    const ready = tag === 'img' ? 'load' : 'loadedmetadata';
    el.addEventListener(ready, () => this.setState('loaded'), { once: true });
    el.addEventListener('error', () => void this.onMediaError(ref, url), {
      once: true
    });
    this.swap(host);
    this.setState('loading');
    el.setAttribute('src', url);
  }

  private async onMediaError(ref: IReference, url: string): Promise<void> {
    if (this.isDisposed) {
      return;
    }
    this.clear(); // the broken element goes before anyone sees it
    this.showMissing(ref, await this.probe(url));
  }

  /** The status of a HEAD request, null when the server did not answer. */
  private async probe(url: string): Promise<number | null> {
    this.abort = new AbortController();
    try {
      const response = await ServerConnection.makeRequest(
        absolute(url),
        { method: 'HEAD', cache: 'no-store', signal: this.abort.signal },
        ServerConnection.makeSettings()
      );
      return response.status;
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') {
        throw err;
      }
      return null;
    }
  }

  /** Fetch the payload and hand it to JupyterLab's renderer for its original type. */
  private async byFetch(
    ref: IReference,
    url: string,
    as: 'json' | 'text'
  ): Promise<void> {
    const factory = this.registry.getFactory(ref.mime);
    if (!factory) {
      this.showLink(ref, url, `no renderer for ${ref.mime} in this page`);
      return;
    }
    if (!factory.safe && !this.trusted) {
      this.showStatus(
        'error',
        `This output (${describe(ref)}) is not trusted: run the cell (or trust the notebook) to show it.`
      );
      return;
    }
    this.abort = new AbortController();
    this.setState('loading');
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        absolute(url),
        { cache: 'default', signal: this.abort.signal }, // names are never reused: cacheable
        ServerConnection.makeSettings()
      );
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') {
        throw err;
      }
      this.showMissing(ref, null);
      return;
    }
    if (!response.ok) {
      this.showMissing(ref, response.status);
      return;
    }
    const text = await this.readText(response, ref);
    const value = as === 'json' ? JSON.parse(text) : text;
    const renderer = factory.createRenderer({
      ...this.options,
      mimeType: ref.mime
    });
    const model = new MimeModel({
      data: { [ref.mime]: value },
      metadata: ref.metadata ? { [ref.mime]: ref.metadata as any } : {},
      trusted: this.trusted
    });
    this.swap(renderer);
    await renderer.renderModel(model);
    this.setState('loaded');
  }

  /** The body as text; with a progress bar for payloads of several MiB. */
  private async readText(response: Response, ref: IReference): Promise<string> {
    if (!showsProgress(ref.size) || !response.body) {
      return response.text();
    }
    const total = Number(response.headers.get('Content-Length')) || ref.size;
    const bar = this.showProgress(ref, total);
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      chunks.push(value);
      loaded += value.byteLength;
      bar(loaded);
    }
    const decoder = new TextDecoder();
    let text = '';
    for (const chunk of chunks) {
      text += decoder.decode(chunk, { stream: true });
    }
    return text + decoder.decode();
  }

  private showWaiting(ref: IReference): void {
    const node = this.showStatus(
      'waiting',
      `${describe(ref)}: loads when scrolled into view`
    );
    const box = imageBox(ref);
    if (box && strategyFor(ref.mime).kind === 'src') {
      // Keep the image's room, so the outputs below stay out of view until scrolled to.
      node.textContent = '';
      node.appendChild(box);
    }
  }

  private showProgress(
    ref: IReference,
    total: number
  ): (loaded: number) => void {
    const node = this.showStatus('loading', '');
    const bar = document.createElement('progress');
    bar.max = total;
    bar.value = 0;
    const label = document.createElement('span');
    node.append(bar, label);
    return loaded => {
      bar.value = loaded;
      label.textContent = ` ${ref.mime}: ${formatSize(loaded)} of ${formatSize(total)}`;
    };
  }

  private showMissing(ref: IReference, status: number | null): void {
    const node = this.showStatus(
      status === 404 || status === 410 ? 'missing' : 'error',
      placeholderText(ref, status)
    );
    node.classList.add('jp-VfsReference-placeholder');
  }

  private showLink(ref: IReference, url: string, why?: string): void {
    const node = this.showStatus('loaded', '');
    const a = document.createElement('a');
    a.href = url;
    a.download = ref.name;
    a.target = '_blank';
    a.rel = 'noopener';
    a.textContent = `Download ${ref.name} (${describe(ref)})`;
    node.appendChild(a);
    if (why) {
      node.append(` — ${why}`);
    }
  }

  /** Replace the content with a text node widget; returns its node for more content. */
  private showStatus(state: State, text: string): HTMLElement {
    const widget = new Widget();
    widget.addClass('jp-VfsReference-status');
    widget.node.textContent = text;
    this.swap(widget);
    this.setState(state);
    return widget.node;
  }

  private swap(widget: Widget): void {
    this.clear();
    (this.layout as PanelLayout).addWidget(widget);
  }

  private setState(state: State): void {
    this.node.dataset.vfsState = state;
  }

  private ref: IReference | null = null;
  private trusted = false;
  private started = false;
  private observer: IntersectionObserver | null = null;
  private abort: AbortController | null = null;
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
function imageBox(ref: IReference): HTMLElement | null {
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
function pdfObject(ref: IReference, url: string): HTMLElement {
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
