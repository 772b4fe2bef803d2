import { ApiFailure, api, authHeader, call, type Session } from '../api';
import { h, replace } from '../dom';
import { formatDateTime, formatDuration, formatNumber } from '../format';
import type { Screen } from '../screen';
import type { Shortcut } from '../shortcuts';
import { CATEGORIES, type Category, type Region, ScanViewer, type ViewInfo, imageToolShortcuts, imageToolbar } from '../viewer';

type Claim = ClaimBody;
interface ClaimBody {
  claimId: string;
  lockExpiresAt: string;
  scan: {
    id: string;
    stage: 'first' | 'second';
    stationName: string;
    pool: string;
    riskScore: number;
    receivedAt: string;
    slaDeadline: string | null;
    metadata: unknown;
    manifest: unknown;
  };
}
type Decision = 'clear' | 'inspect' | 'inconclusive';

interface Manifest {
  scanner?: { vendor?: string; model?: string | null };
  acquiredAt?: string | null;
  conveyance?: { containers?: { number: string; checkDigitValid: boolean }[]; licencePlates?: string[]; declarations?: string[]; fields?: Record<string, unknown> };
  views?: { id: string; width: number; height: number; airValue?: number; pixelSpacingMm?: { x: number; y: number } | null; planes?: { energy: string }[] }[];
}
interface Metadata {
  declaredGoods?: string;
  reference?: string;
  fields?: Record<string, unknown>;
}

/** The analyst's screen: next case, the case with its declaration and images, regions, decision. */
export function analystScreen(_session: Session): Screen {
  const element = h('main', { class: 'analyst' });
  let claim: Claim | null = null;
  let viewer: ScanViewer | null = null;
  let regions: Region[] = [];
  let selected: number | null = null;
  let heartbeat: number | undefined;
  let ticker: number | undefined;
  let lockLost = false;
  let busy = false;

  const releaseOnLeave = () => {
    if (!claim || lockLost) return;
    // keepalive lets the request outlive the page
    void fetch(`/api/v1/worklist/claims/${encodeURIComponent(claim.claimId)}`, { method: 'DELETE', keepalive: true, headers: authHeader() });
    claim = null;
  };
  window.addEventListener('pagehide', releaseOnLeave);

  function idle(message = '', tone: 'info' | 'warn' = 'info') {
    stopTimers();
    viewer?.destroy();
    viewer = null;
    claim = null;
    regions = [];
    selected = null;
    replace(
      element,
      h(
        'section',
        { class: 'idle' },
        message ? h('p', { class: `notice ${tone}`, role: 'status' }, message) : null,
        h('button', { class: 'primary big', id: 'next-case', onclick: () => void next() }, 'Next case ', h('kbd', {}, 'N')),
        h('p', { class: 'muted' }, 'Claims the most urgent case of your pools. Press ? for all shortcuts.'),
      ),
    );
  }

  async function next() {
    if (busy || claim) return;
    busy = true;
    try {
      const { data, response } = await api.POST('/api/v1/worklist/claim', {});
      if (response.status === 204) return idle('Nothing waits in your pools. Try again in a moment.');
      if (!response.ok) throw new ApiFailure(response.status, 'claim_failed', 'the claim was refused');
      open(data as unknown as Claim);
    } catch (error) {
      idle(error instanceof Error ? error.message : String(error), 'warn');
    } finally {
      busy = false;
    }
  }

  function open(claimed: Claim) {
    claim = claimed;
    lockLost = false;
    regions = [];
    selected = null;
    const scan = claimed.scan;
    const manifest = (scan.manifest ?? {}) as Manifest;
    const metadata = (scan.metadata ?? {}) as Metadata;
    const views: ViewInfo[] = [...(manifest.views ?? [])]
      .sort((a, b) => order(a.id) - order(b.id))
      .map((view) => ({
        id: view.id,
        width: view.width,
        height: view.height,
        hasMaterial: (view.planes ?? []).some((plane) => plane.energy === 'low'),
        airValue: view.airValue,
        pixelSpacingMm: view.pixelSpacingMm ?? null,
        energies: (view.planes ?? []).map((plane) => plane.energy),
      }));

    viewer = new ScanViewer({
      scanId: scan.id,
      views,
      headers: authHeader,
      onRegionDrawn: (rect) => {
        regions.push({ ...rect, category: 'other', note: '' });
        selected = regions.length - 1;
        refreshRegions();
      },
      onRegionClicked: (index) => {
        selected = index;
        refreshRegions();
      },
    });

    const banner = h('div', { class: 'banner', role: 'alert', hidden: true });
    const sla = h('span', { class: 'sla', title: 'Time left to the SLA deadline' });
    const layerButton = h('button', { class: 'toggle', id: 'layer-toggle', onclick: () => toggleLayer(), disabled: !viewer.hasMaterial }, 'Material ', h('kbd', {}, 'M'));
    const comment = h('textarea', { id: 'comment', rows: 3, maxlength: 4000, placeholder: 'Comment for the station (optional)' });
    const decisions = h(
      'div',
      { class: 'decisions' },
      decisionButton('clear', 'Clear', 'C'),
      decisionButton('inspect', 'Inspect', 'I'),
      decisionButton('inconclusive', 'Inconclusive', 'U'),
    );

    replace(
      element,
      h(
        'div',
        { class: 'case', 'data-scan': scan.id, 'data-claim': claimed.claimId },
        h(
          'div',
          { class: 'case-bar' },
          h('span', { class: `badge stage-${scan.stage}` }, scan.stage === 'first' ? 'First opinion' : 'Second opinion'),
          h('span', { class: `badge risk ${scan.riskScore >= 70 ? 'high' : scan.riskScore >= 40 ? 'mid' : 'low'}` }, `Risk ${formatNumber(scan.riskScore)}`),
          h('span', {}, scan.stationName),
          h('span', { class: 'muted' }, `pool ${scan.pool}`),
          h('span', { class: 'spacer' }),
          sla,
          h('button', { class: 'ghost', onclick: () => void giveBack() }, 'Give back'),
        ),
        banner,
        declarationPanel(scan, manifest, metadata),
        h(
          'section',
          { class: 'image-area' },
          h(
            'div',
            { class: 'image-tools' },
            layerButton,
            h('button', { class: 'ghost', onclick: () => viewer?.home() }, 'Fit ', h('kbd', {}, 'H')),
            h('span', { class: 'muted' }, 'Drag to pan · wheel to zoom · Shift+drag to mark a region · right drag for window/level'),
          ),
          imageToolbar(viewer, (on) => {
            if ((viewer?.currentLayer === 'material') !== on) toggleLayerRef();
          }),
          viewer.element,
        ),
        h(
          'aside',
          { class: 'side-panel' },
          h('h2', {}, 'Regions'),
          h('ol', { class: 'region-list', id: 'regions' }),
          h('label', { class: 'stack' }, 'Comment', comment),
          decisions,
        ),
      ),
    );

    function toggleLayer() {
      viewer?.toggleLayer();
      layerButton.classList.toggle('on', viewer?.currentLayer === 'material');
      layerButton.setAttribute('aria-pressed', String(viewer?.currentLayer === 'material'));
    }
    toggleLayerRef = toggleLayer;
    bannerRef = banner;
    commentRef = comment;

    // SLA countdown
    const tick = () => {
      if (!scan.slaDeadline) {
        sla.textContent = 'no SLA';
        return;
      }
      const left = (new Date(scan.slaDeadline).getTime() - Date.now()) / 1000;
      sla.textContent = left >= 0 ? `SLA ${formatDuration(left)}` : `SLA overdue ${formatDuration(-left)}`;
      sla.className = `sla ${left < 0 ? 'over' : left < 60 ? 'soon' : ''}`;
    };
    tick();
    ticker = window.setInterval(tick, 1000);

    // keep the lock: a heartbeat every third of the lock time
    const lockMs = Math.max(3000, new Date(claimed.lockExpiresAt).getTime() - Date.now());
    heartbeat = window.setInterval(() => void beat(), Math.max(1000, Math.floor(lockMs / 3)));
    refreshRegions();
  }

  let toggleLayerRef: () => void = () => undefined;
  let bannerRef: HTMLElement | null = null;
  let commentRef: HTMLTextAreaElement | null = null;

  function decisionButton(decision: Decision, label: string, key: string) {
    return h('button', { class: `decide ${decision}`, 'data-decision': decision, onclick: () => void decide(decision) }, label, ' ', h('kbd', {}, key));
  }

  async function beat() {
    if (!claim || lockLost) return;
    try {
      await call(api.POST('/api/v1/worklist/claims/{claimId}/heartbeat', { params: { path: { claimId: claim.claimId } } }));
    } catch (error) {
      if (error instanceof ApiFailure && (error.code === 'lock_lost' || error.status === 409 || error.status === 404)) showLockLost();
    }
  }

  function showLockLost() {
    lockLost = true;
    stopTimers();
    element.querySelectorAll<HTMLButtonElement>('button.decide').forEach((button) => (button.disabled = true));
    if (bannerRef) {
      bannerRef.hidden = false;
      replace(
        bannerRef,
        'The lock on this case was lost: it went back to the pool and may now be with another analyst. Your marks were not sent. ',
        h('button', { class: 'primary', onclick: () => idle() }, 'Back to the pool'),
      );
    }
  }

  async function decide(decision: Decision) {
    if (!claim || lockLost || busy) return;
    busy = true;
    const current = claim;
    element.querySelectorAll<HTMLButtonElement>('button.decide').forEach((button) => (button.disabled = true));
    try {
      const result = await call(
        api.POST('/api/v1/scans/{id}/verdict', {
          params: { path: { id: current.scan.id } },
          body: { claimId: current.claimId, decision, regions, comment: commentRef?.value.trim() ?? '' },
        }),
      );
      claim = null;
      busy = false;
      idle(`Decided ${decision}${result.final ? '' : ' (goes to a second analyst)'} with ${formatNumber(regions.length)} region(s). Press N for the next case.`);
    } catch (error) {
      busy = false;
      if (error instanceof ApiFailure && error.code === 'lock_lost') return showLockLost();
      element.querySelectorAll<HTMLButtonElement>('button.decide').forEach((button) => (button.disabled = false));
      if (bannerRef) {
        bannerRef.hidden = false;
        bannerRef.textContent = `The verdict was refused: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
  }

  async function giveBack() {
    if (!claim) return;
    const current = claim;
    claim = null;
    try {
      await call(api.DELETE('/api/v1/worklist/claims/{claimId}', { params: { path: { claimId: current.claimId } } }));
    } catch {
      // lapsed already: it is back in the pool either way
    }
    idle('The case went back to the pool.');
  }

  function refreshRegions() {
    viewer?.setRegions(regions, selected);
    const list = element.querySelector('#regions');
    if (!list) return;
    replace(
      list,
      regions.length === 0 ? h('li', { class: 'muted empty' }, 'No regions. Shift+drag on the image to mark one.') : null,
      regions.map((region, index) => {
        const category = h(
          'select',
          { 'aria-label': `Category of region ${index + 1}`, class: 'category' },
          CATEGORIES.map((value) => h('option', { value, selected: value === region.category }, value.replace('_', ' '))),
        );
        category.addEventListener('change', () => {
          region.category = category.value as Category;
          viewer?.setRegions(regions, selected);
        });
        const note = h('input', { 'aria-label': `Note of region ${index + 1}`, value: region.note, maxlength: 1000, placeholder: 'note' });
        note.addEventListener('input', () => (region.note = note.value));
        return h(
          'li',
          { class: index === selected ? 'selected' : null, onclick: () => select(index) },
          h('div', { class: 'region-head' }, h('b', {}, `${index + 1}`), ' ', region.view, ' ', h('span', { class: 'muted' }, `${formatNumber(region.width)} × ${formatNumber(region.height)} px at ${formatNumber(region.x)}, ${formatNumber(region.y)}`), h('button', { class: 'ghost small', title: 'Delete region (Del)', onclick: (event: Event) => { event.stopPropagation(); remove(index); } }, '✕')),
          category,
          note,
        );
      }),
    );
  }

  function select(index: number) {
    if (selected === index) return;
    selected = index;
    refreshRegions();
  }

  function remove(index: number) {
    regions.splice(index, 1);
    selected = regions.length ? Math.min(index, regions.length - 1) : null;
    refreshRegions();
  }

  function stopTimers() {
    window.clearInterval(heartbeat);
    window.clearInterval(ticker);
  }

  const inCase = (run: () => void) => () => {
    if (claim && !lockLost) run();
  };
  const shortcuts: Shortcut[] = [
    { key: 'n', label: 'Next case', run: () => void next() },
    { key: 'c', label: 'Decide: clear', run: inCase(() => void decide('clear')) },
    { key: 'i', label: 'Decide: inspect physically', run: inCase(() => void decide('inspect')) },
    { key: 'u', label: 'Decide: inconclusive', run: inCase(() => void decide('inconclusive')) },
    { key: 'm', label: 'Grey / material colouring', run: inCase(() => toggleLayerRef()) },
    { key: 'h', label: 'Fit the images', run: () => viewer?.home() },
    { key: '+', label: 'Zoom in', run: () => viewer?.zoomBy(1.5) },
    { key: '-', label: 'Zoom out', run: () => viewer?.zoomBy(1 / 1.5) },
    { key: 'Delete', label: 'Delete the selected region', run: () => selected !== null && remove(selected) },
    ...CATEGORIES.map((category, index) => ({
      key: String(index + 1),
      label: `Selected region: ${category.replace('_', ' ')}`,
      run: () => {
        if (selected === null) return;
        regions[selected].category = category;
        refreshRegions();
      },
    })),
    { key: 'shift-drag', display: 'Shift + drag', label: 'Mark a region on the image', run: () => undefined },
    ...imageToolShortcuts(
      () => viewer,
      (on) => {
        if ((viewer?.currentLayer === 'material') !== on) toggleLayerRef();
      },
    ).map((shortcut) => ({
      ...shortcut,
      run: (event: KeyboardEvent) => {
        if (claim && !lockLost) shortcut.run(event);
      },
    })),
  ];

  idle();
  return {
    element,
    shortcuts,
    destroy() {
      releaseOnLeave();
      stopTimers();
      viewer?.destroy();
      window.removeEventListener('pagehide', releaseOnLeave);
    },
  };
}

function order(view: string): number {
  return view === 'top' ? 0 : view === 'side' ? 1 : 2;
}

function declarationPanel(scan: ClaimBody['scan'], manifest: Manifest, metadata: Metadata): HTMLElement {
  const conveyance = manifest.conveyance ?? {};
  const row = (label: string, ...value: (Node | string)[]) => [h('dt', {}, label), h('dd', {}, ...(value.length ? value : ['—']))];
  const list = (values: string[] | undefined) => (values?.length ? [h('ul', { class: 'plain' }, values.map((value) => h('li', { class: 'mono' }, value)))] : []);
  const shown = new Set(['reference', 'riskScore', 'declaredGoods', 'containers', 'licencePlates', 'declarations']);
  const fields = Object.fromEntries(Object.entries({ ...(conveyance.fields ?? {}), ...(metadata.fields ?? {}) }).filter(([key]) => !shown.has(key)));
  return h(
    'aside',
    { class: 'declaration', 'aria-label': 'Declaration' },
    h('h2', {}, 'Declaration'),
    h(
      'dl',
      {},
      row('Station', scan.stationName),
      row('Scanner', [manifest.scanner?.vendor, manifest.scanner?.model].filter(Boolean).join(' ') || '—'),
      row('Acquired', formatDateTime(manifest.acquiredAt ?? null)),
      row('Received', formatDateTime(scan.receivedAt)),
      row('Risk', formatNumber(scan.riskScore)),
      row('Stage', scan.stage),
      row('Reference', metadata.reference ?? '—'),
      row(
        'Containers',
        ...(conveyance.containers?.length
          ? [
              h(
                'ul',
                { class: 'plain' },
                conveyance.containers.map((container) =>
                  h(
                    'li',
                    { class: `mono container ${container.checkDigitValid ? 'valid' : 'invalid'}` },
                    container.number,
                    ' ',
                    h('span', { class: container.checkDigitValid ? 'ok' : 'bad', title: 'ISO 6346 check digit' }, container.checkDigitValid ? '✓ check digit' : '✗ check digit wrong'),
                  ),
                ),
              ),
            ]
          : []),
      ),
      row('Plates', ...list(conveyance.licencePlates)),
      row('Declarations', ...list(conveyance.declarations)),
      row('Declared goods', metadata.declaredGoods ?? '—'),
      Object.entries(fields).flatMap(([key, value]) => row(key, String(value))),
    ),
  );
}
