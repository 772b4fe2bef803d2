import type { Shortcut } from './shortcuts';

/** One page of the app: its element, its keys, and what to do when leaving it. */
export interface Screen {
  element: HTMLElement;
  shortcuts: Shortcut[];
  destroy(): void;
}
