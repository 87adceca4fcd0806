/**
 * What a loading strategy may do to the output it fills (implemented by ReferenceRenderer),
 * so each strategy lives in its own module: media.ts (by ``src``), fetched.ts (by fetch).
 */

import { Widget } from '@lumino/widgets';

import { IReference } from './reference';

/** Loading states, on ``data-vfs-state`` for styles and tests. */
export type State = 'waiting' | 'loading' | 'loaded' | 'missing' | 'error';

export interface IOutputView {
  /** Replace the output's content with ``widget``. */
  swap(widget: Widget): void;
  /** Remove the output's content (a broken element, before anyone sees it). */
  clear(): void;
  setState(state: State): void;
  /** Replace the content with a status line; returns its node for more content. */
  showStatus(state: State, text: string): HTMLElement;
  /** The placeholder for a file the server did not give (``status`` null: no answer). */
  showMissing(ref: IReference, status: number | null): void;
}
