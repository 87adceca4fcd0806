/**
 * Payloads shown by JupyterLab's own renderer for their original type (JSON, HTML, SVG,
 * text): fetched into the page, with a progress bar for several MiB.
 */

import { MimeModel, IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { downloadLink } from './media';
import { isAbort, request } from './page';
import { IReference, describe, formatSize, showsProgress } from './reference';
import { IOutputView } from './view';

/** What JupyterLab's renderers need from the output: the registry, options, trust. */
export interface IRenderContext {
  registry: IRenderMimeRegistry;
  options: IRenderMime.IRendererOptions;
  trusted: boolean;
}

/** Fetch the payload and hand it to JupyterLab's renderer for its original type. */
export async function showFetched(
  view: IOutputView,
  ref: IReference,
  url: string,
  as: 'json' | 'text',
  signal: AbortSignal,
  context: IRenderContext
): Promise<void> {
  const factory = context.registry.getFactory(ref.mime);
  if (!factory) {
    view
      .showStatus('loaded', '')
      .append(
        downloadLink(ref, url),
        ` — no renderer for ${ref.mime} in this page`
      );
    return;
  }
  if (!factory.safe && !context.trusted) {
    view.showStatus(
      'error',
      `This output (${describe(ref)}) is not trusted: run the cell (or trust the notebook) to show it.`
    );
    return;
  }
  view.setState('loading');
  let response: Response;
  try {
    // Names are never reused for other bytes: cacheable.
    response = await request(url, { cache: 'default', signal });
  } catch (err) {
    if (isAbort(err)) {
      throw err;
    }
    view.showMissing(ref, null);
    return;
  }
  if (!response.ok) {
    view.showMissing(ref, response.status);
    return;
  }
  const text = await readText(response, ref, total =>
    progressBar(view.showStatus('loading', ''), ref, total)
  );
  const value = as === 'json' ? JSON.parse(text) : text;
  const renderer = factory.createRenderer({
    ...context.options,
    mimeType: ref.mime
  });
  const model = new MimeModel({
    data: { [ref.mime]: value },
    metadata: ref.metadata ? { [ref.mime]: ref.metadata as any } : {},
    trusted: context.trusted
  });
  view.swap(renderer);
  await renderer.renderModel(model);
  view.setState('loaded');
}

/** A progress bar and its label in ``node``; returns the function that moves it. */
function progressBar(
  node: HTMLElement,
  ref: IReference,
  total: number
): (loaded: number) => void {
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

/** The body as text; ``progress`` makes a bar (in bytes of ``total``) for several MiB. */
async function readText(
  response: Response,
  ref: IReference,
  progress: (total: number) => (loaded: number) => void
): Promise<string> {
  if (!showsProgress(ref.size) || !response.body) {
    return response.text();
  }
  const total = Number(response.headers.get('Content-Length')) || ref.size;
  const bar = progress(total);
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
