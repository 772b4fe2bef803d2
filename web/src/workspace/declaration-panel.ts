import { h } from '../dom';
import { formatDateTime, formatNumber } from '../format';
import type { ViewInfo } from '../viewer';

/** The parts of the exchange manifest the case screen reads. */
interface Manifest {
  scanner?: { vendor?: string; model?: string | null };
  acquiredAt?: string | null;
  conveyance?: { containers?: { number: string; checkDigitValid: boolean }[]; licencePlates?: string[]; declarations?: string[]; fields?: Record<string, unknown> };
  views?: { id: string; width: number; height: number; airValue?: number; pixelSpacingMm?: { x: number; y: number } | null; planes?: { energy: string }[] }[];
}

/** The station's metadata of a scan. */
interface Metadata {
  declaredGoods?: string;
  reference?: string;
  fields?: Record<string, unknown>;
}

/** What the declaration shows besides the manifest and metadata; a row whose value is null or absent is left out. */
export interface CaseFacts {
  /** Null when a training set hides identities. */
  stationName: string | null;
  riskScore: number;
  receivedAt?: string;
  stage?: string;
}

function order(view: string): number {
  return view === 'top' ? 0 : view === 'side' ? 1 : 2;
}

/** The views of a manifest as the viewer needs them, top above side. */
export function viewsOf(manifest: unknown): ViewInfo[] {
  return [...((manifest ?? {}) as Manifest).views ?? []]
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
}

/** The declaration beside the images: station, scanner, times, risk, containers (with check digit), plates, goods. */
export function declarationPanel(facts: CaseFacts, manifestValue: unknown, metadataValue: unknown): HTMLElement {
  const manifest = (manifestValue ?? {}) as Manifest;
  const metadata = (metadataValue ?? {}) as Metadata;
  const conveyance = manifest.conveyance ?? {};
  const row = (label: string, ...value: (Node | string)[]) => [h('dt', {}, label), h('dd', {}, ...(value.length ? value : ['—']))];
  const optional = (label: string, value: string | null | undefined) => (value === null || value === undefined ? [] : row(label, value));
  const list = (values: string[] | undefined) => (values?.length ? [h('ul', { class: 'plain' }, values.map((value) => h('li', { class: 'mono' }, value)))] : []);
  const shown = new Set(['reference', 'riskScore', 'declaredGoods', 'containers', 'licencePlates', 'declarations']);
  const fields = Object.fromEntries(Object.entries({ ...(conveyance.fields ?? {}), ...(metadata.fields ?? {}) }).filter(([key]) => !shown.has(key)));
  const containers = conveyance.containers?.length
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
    : [];
  return h(
    'aside',
    { class: 'declaration', 'aria-label': 'Declaration' },
    h('h2', {}, 'Declaration'),
    h(
      'dl',
      {},
      optional('Station', facts.stationName),
      row('Scanner', [manifest.scanner?.vendor, manifest.scanner?.model].filter(Boolean).join(' ') || '—'),
      row('Acquired', formatDateTime(manifest.acquiredAt ?? null)),
      optional('Received', facts.receivedAt === undefined ? undefined : formatDateTime(facts.receivedAt)),
      row('Risk', formatNumber(facts.riskScore)),
      optional('Stage', facts.stage),
      row('Reference', metadata.reference ?? '—'),
      row('Containers', ...containers),
      row('Plates', ...list(conveyance.licencePlates)),
      row('Declarations', ...list(conveyance.declarations)),
      row('Declared goods', metadata.declaredGoods ?? '—'),
      Object.entries(fields).flatMap(([key, value]) => row(key, String(value))),
    ),
  );
}
