import { authHeader } from '../api';
import { type Child, h, replace } from '../dom';
import { formatNumber } from '../format';
import type { Shortcut } from '../shortcuts';
import { CATEGORIES, type Category, type Region, ScanViewer, imageToolShortcuts, imageToolbar } from '../viewer';
import { type CaseFacts, declarationPanel, viewsOf } from './declaration-panel';

export type Decision = 'clear' | 'inspect' | 'inconclusive';

/** What a decision carries besides the decision itself. */
export interface CaseAnswer {
  regions: Region[];
  comment: string;
}

export interface CaseWorkspaceOptions {
  /** Where the image routes hang: `scanImageBase(scanId)` or `/api/v1/training/cases/{caseId}`. */
  imageBase: string;
  /** The exchange manifest (views, scanner, conveyance) and the station's metadata (declared goods, reference). */
  manifest: unknown;
  metadata: unknown;
  facts: CaseFacts;
  /** The bar above the case: badges, station, timers, buttons of the screen. */
  bar: Child[];
  /** data-* attributes of the case element (what tests find the case by). */
  data: Record<string, string>;
  commentPlaceholder: string;
  /** What a refused decision is called in the banner ("The verdict was refused: ..."). */
  refusal: string;
  /** Sends the decision. Throwing shows the refusal in the banner and opens the decisions again. */
  onDecide(decision: Decision, answer: CaseAnswer): Promise<void>;
}

/**
 * One case on screen, the same for the analyst's live cases and the trainee's training cases: the declaration, the
 * views in step with the image tools, regions marked by Shift+drag with a category and note, a comment, and the three
 * decisions (C, I, U). The screen around it owns what happens before and after (claims and locks, sessions).
 */
export class CaseWorkspace {
  readonly element: HTMLElement;
  readonly viewer: ScanViewer;
  /** A place in the side panel, above the decisions, for the screen's own content (e.g. training feedback). */
  readonly slot: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly layerButton: HTMLButtonElement;
  private readonly comment: HTMLTextAreaElement;
  private readonly regionList: HTMLElement;
  private readonly regions: Region[] = [];
  private selected: number | null = null;
  /** Decisions and region edits are accepted. */
  private open = true;
  /** Nothing is accepted any more, image tools included (e.g. the lock on the case was lost). */
  private frozen = false;
  private busy = false;

  constructor(private readonly options: CaseWorkspaceOptions) {
    this.viewer = new ScanViewer({
      imageBase: options.imageBase,
      views: viewsOf(options.manifest),
      headers: authHeader,
      onRegionDrawn: (rect) => {
        if (!this.editable) return;
        this.regions.push({ ...rect, category: 'other', note: '' });
        this.selected = this.regions.length - 1;
        this.refreshRegions();
      },
      onRegionClicked: (index) => this.select(index),
    });
    this.banner = h('div', { class: 'banner', role: 'alert', hidden: true });
    this.layerButton = h('button', { class: 'toggle', id: 'layer-toggle', onclick: () => this.toggleLayer(), disabled: !this.viewer.hasMaterial }, 'Material ', h('kbd', {}, 'M'));
    this.comment = h('textarea', { id: 'comment', rows: 3, maxlength: 4000, placeholder: options.commentPlaceholder });
    this.regionList = h('ol', { class: 'region-list', id: 'regions' });
    this.slot = h('div', { class: 'case-slot' });
    const decisionButton = (decision: Decision, label: string, key: string) =>
      h('button', { class: `decide ${decision}`, 'data-decision': decision, onclick: () => void this.decide(decision) }, label, ' ', h('kbd', {}, key));
    this.element = h(
      'div',
      { class: 'case', ...Object.fromEntries(Object.entries(options.data).map(([key, value]) => [`data-${key}`, value])) },
      h('div', { class: 'case-bar' }, ...options.bar),
      this.banner,
      declarationPanel(options.facts, options.manifest, options.metadata),
      h(
        'section',
        { class: 'image-area' },
        h(
          'div',
          { class: 'image-tools' },
          this.layerButton,
          h('button', { class: 'ghost', onclick: () => this.viewer.home() }, 'Fit ', h('kbd', {}, 'H')),
          h('span', { class: 'muted' }, 'Drag to pan · wheel to zoom · Shift+drag to mark a region · right drag for window/level'),
        ),
        imageToolbar(this.viewer, (on) => this.setMaterial(on)),
        this.viewer.element,
      ),
      h(
        'aside',
        { class: 'side-panel' },
        h('h2', {}, 'Regions'),
        this.regionList,
        h('label', { class: 'stack' }, 'Comment', this.comment),
        this.slot,
        h('div', { class: 'decisions' }, decisionButton('clear', 'Clear', 'C'), decisionButton('inspect', 'Inspect', 'I'), decisionButton('inconclusive', 'Inconclusive', 'U')),
      ),
    );
    this.refreshRegions();
  }

  /** The image tools work (the case is on screen and not frozen). */
  get active(): boolean {
    return !this.frozen;
  }

  /** A decision may be made now. */
  get deciding(): boolean {
    return this.open && !this.frozen && !this.busy;
  }

  private get editable(): boolean {
    return this.open && !this.frozen;
  }

  get answer(): CaseAnswer {
    return { regions: this.regions.map((region) => ({ ...region })), comment: this.comment.value.trim() };
  }

  /** Sends the decision through the screen; afterwards the case takes no more decisions unless it was refused. */
  async decide(decision: Decision): Promise<void> {
    if (!this.deciding) return;
    this.busy = true;
    this.setDecisionsEnabled(false);
    try {
      await this.options.onDecide(decision, this.answer);
      this.open = false;
    } catch (error) {
      this.showBanner(`${this.options.refusal}: ${error instanceof Error ? error.message : String(error)}`);
      if (!this.frozen) this.setDecisionsEnabled(true);
    } finally {
      this.busy = false;
    }
  }

  /** Stops everything (decisions, region edits, image tools): the case is no longer the user's. */
  freeze(): void {
    this.frozen = true;
    this.setDecisionsEnabled(false);
    this.comment.disabled = true;
    this.refreshRegions();
  }

  /** Draws the truth of the case beside the user's own regions (training feedback). */
  showTruth(regions: Region[]): void {
    this.viewer.setTruth(regions);
  }

  showBanner(...content: Child[]): void {
    this.banner.hidden = false;
    replace(this.banner, ...content);
  }

  toggleLayer(): void {
    this.viewer.toggleLayer();
    const on = this.viewer.currentLayer === 'material';
    this.layerButton.classList.toggle('on', on);
    this.layerButton.setAttribute('aria-pressed', String(on));
  }

  setMaterial(on: boolean): void {
    if ((this.viewer.currentLayer === 'material') !== on) this.toggleLayer();
  }

  removeSelected(): void {
    if (this.selected === null || !this.editable) return;
    this.remove(this.selected);
  }

  categoriseSelected(category: Category): void {
    if (this.selected === null || !this.editable) return;
    this.regions[this.selected].category = category;
    this.refreshRegions();
  }

  destroy(): void {
    this.viewer.destroy();
    this.element.remove();
  }

  private setDecisionsEnabled(on: boolean): void {
    this.element.querySelectorAll<HTMLButtonElement>('button.decide').forEach((button) => (button.disabled = !on));
  }

  private select(index: number): void {
    if (this.selected === index) return;
    this.selected = index;
    this.refreshRegions();
  }

  private remove(index: number): void {
    this.regions.splice(index, 1);
    this.selected = this.regions.length ? Math.min(index, this.regions.length - 1) : null;
    this.refreshRegions();
  }

  private refreshRegions(): void {
    const { regions, selected } = this;
    const editable = this.editable;
    this.viewer.setRegions(regions, selected);
    replace(
      this.regionList,
      regions.length === 0 ? h('li', { class: 'muted empty' }, editable ? 'No regions. Shift+drag on the image to mark one.' : 'No regions.') : null,
      regions.map((region, index) => {
        const category = h(
          'select',
          { 'aria-label': `Category of region ${index + 1}`, class: 'category', disabled: !editable },
          CATEGORIES.map((value) => h('option', { value, selected: value === region.category }, value.replace('_', ' '))),
        );
        category.addEventListener('change', () => {
          region.category = category.value as Category;
          this.viewer.setRegions(regions, this.selected);
        });
        const note = h('input', { 'aria-label': `Note of region ${index + 1}`, value: region.note, maxlength: 1000, placeholder: 'note', disabled: !editable });
        note.addEventListener('input', () => (region.note = note.value));
        const size = `${formatNumber(region.width)} × ${formatNumber(region.height)} px at ${formatNumber(region.x)}, ${formatNumber(region.y)}`;
        const removeButton = h('button', { class: 'ghost small', title: 'Delete region (Del)', disabled: !editable, onclick: (event: Event) => {
            event.stopPropagation();
            this.remove(index);
          },
        }, '✕');
        return h(
          'li',
          { class: index === selected ? 'selected' : null, onclick: () => this.select(index) },
          h('div', { class: 'region-head' }, h('b', {}, `${index + 1}`), ' ', region.view, ' ', h('span', { class: 'muted' }, size), removeButton),
          category,
          note,
        );
      }),
    );
  }
}

/**
 * The keys of a case on screen (decisions, layer, zoom, regions, image tools), acting on whichever workspace the
 * screen shows now; nothing happens while there is none.
 */
export function caseShortcuts(current: () => CaseWorkspace | null): Shortcut[] {
  const when = (ready: (workspace: CaseWorkspace) => boolean, run: (workspace: CaseWorkspace) => void) => () => {
    const workspace = current();
    if (workspace && ready(workspace)) run(workspace);
  };
  const deciding = (decision: Decision) => when((workspace) => workspace.deciding, (workspace) => void workspace.decide(decision));
  const active = (run: (workspace: CaseWorkspace) => void) => when((workspace) => workspace.active, run);
  const viewer = () => {
    const workspace = current();
    return workspace?.active ? workspace.viewer : null;
  };
  return [
    { key: 'c', label: 'Decide: clear', run: deciding('clear') },
    { key: 'i', label: 'Decide: inspect physically', run: deciding('inspect') },
    { key: 'u', label: 'Decide: inconclusive', run: deciding('inconclusive') },
    { key: 'm', label: 'Grey / material colouring', run: active((workspace) => workspace.toggleLayer()) },
    { key: 'h', label: 'Fit the images', run: active((workspace) => workspace.viewer.home()) },
    { key: '+', label: 'Zoom in', run: active((workspace) => workspace.viewer.zoomBy(1.5)) },
    { key: '-', label: 'Zoom out', run: active((workspace) => workspace.viewer.zoomBy(1 / 1.5)) },
    { key: 'Delete', label: 'Delete the selected region', run: active((workspace) => workspace.removeSelected()) },
    ...CATEGORIES.map((category, index) => ({
      key: String(index + 1),
      label: `Selected region: ${category.replace('_', ' ')}`,
      run: active((workspace) => workspace.categoriseSelected(category)),
    })),
    { key: 'shift-drag', display: 'Shift + drag', label: 'Mark a region on the image', run: () => undefined },
    ...imageToolShortcuts(viewer, (on) => current()?.setMaterial(on)),
  ];
}
