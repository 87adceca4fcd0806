/**
 * vfs_ext's JupyterLab / Notebook 7 extension: renders ``application/vnd.vfs-ext.v1+json``,
 * the reference a kernel with vfs_ext puts in every virtual output's bundle.
 *
 * A plugin rather than a mime extension: the renderer hands each payload to the renderer
 * JupyterLab has for its original type, so it needs the rendermime registry itself.
 */

import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { MIME_TYPE } from './reference';
import { ReferenceRenderer } from './widget';

/** Above every standard renderer, so the reference wins over the fallback the kernel keeps
 * for frontends without this extension (``text/markdown`` for media, else ``text/html``). */
export const RANK = 10;

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'vfs-ext:renderer',
  description:
    'Shows outputs stored as vfs_ext virtual files, loading them by URL.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  activate: (app: JupyterFrontEnd, registry: IRenderMimeRegistry) => {
    const factory: IRenderMime.IRendererFactory = {
      // Safe: it only loads files from this server; the original type's renderer applies
      // its own trust rules (the HTML sanitizer for untrusted outputs).
      safe: true,
      mimeTypes: [MIME_TYPE],
      defaultRank: RANK,
      createRenderer: options => new ReferenceRenderer(options, registry)
    };
    registry.addFactory(factory, RANK);
  }
};

export default plugin;
