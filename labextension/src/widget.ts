/**
 * The renderer of a virtual output: waits until the output nears the viewport, then shows
 * the file (media by ``src``: media.ts; everything else with JupyterLab's own renderer for
 * its original type: fetched.ts), and a placeholder instead of a broken image when the file
 * is gone.
 */

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Message } from '@lumino/messaging';
import { PanelLayout, Widget } from '@lumino/widgets';

import { showFetched } from './fetched';
import { downloadLink, imageBox, showMedia } from './media';
import { basePath, isAbort, scrollRoot, viewOf } from './page';
import {
  IReference,
  PRELOAD_MARGIN,
  describe,
  fileUrl,
  nearView,
  parseReference,
  placeholderText,
  strategyFor
} from './reference';
import { IOutputView, State } from './view';

/** The renderer for ``application/vnd.vfs-ext.v1+json``. */
export class ReferenceRenderer
  extends Widget
  implements IRenderMime.IRenderer, IOutputView
{
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
    this.abort.abort();
    this.abort = new AbortController();
    this.started = false;
    for (const media of Array.from(
      this.node.querySelectorAll('img, video, audio')
    )) {
      // Stops a download the browser streams for an element about to go.
      (media as HTMLImageElement).removeAttribute('src');
    }
    this.clear();
  }

  clear(): void {
    const layout = this.layout as PanelLayout;
    for (const child of [...layout.widgets]) {
      child.dispose();
    }
  }

  private async load(ref: IReference): Promise<void> {
    this.started = true;
    const url = fileUrl(basePath(), ref.name);
    const strategy = strategyFor(ref.mime);
    const signal = this.abort.signal;
    try {
      if (strategy.kind === 'link') {
        this.showStatus('loaded', '').appendChild(downloadLink(ref, url));
      } else if (strategy.kind === 'fetch') {
        const context = {
          registry: this.registry,
          options: this.options,
          trusted: this.trusted
        };
        await showFetched(this, ref, url, strategy.as, signal, context);
      } else {
        await showMedia(this, ref, url, strategy.element, signal);
      }
    } catch (err) {
      if (!isAbort(err) && !signal.aborted) {
        this.showStatus('error', `vfs_ext: could not show this output: ${err}`);
      }
    }
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

  showMissing(ref: IReference, status: number | null): void {
    const node = this.showStatus(
      status === 404 || status === 410 ? 'missing' : 'error',
      placeholderText(ref, status)
    );
    node.classList.add('jp-VfsReference-placeholder');
  }

  showStatus(state: State, text: string): HTMLElement {
    const widget = new Widget();
    widget.addClass('jp-VfsReference-status');
    widget.node.textContent = text;
    this.swap(widget);
    this.setState(state);
    return widget.node;
  }

  swap(widget: Widget): void {
    this.clear();
    (this.layout as PanelLayout).addWidget(widget);
  }

  setState(state: State): void {
    this.node.dataset.vfsState = state;
  }

  private ref: IReference | null = null;
  private trusted = false;
  private started = false;
  private observer: IntersectionObserver | null = null;
  private abort = new AbortController();
}
