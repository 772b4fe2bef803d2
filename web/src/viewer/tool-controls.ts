import { h, replace } from '../dom';
import type { Shortcut } from '../shortcuts';
import { type ImageToolState, type MaterialFilter, type WindowPreset, MATERIAL_FILTERS, WINDOW_PRESETS } from './image-tools';
import type { ScanViewer } from './scan-viewer';

const PRESET_KEYS: Record<WindowPreset, string> = { full: 'a', thin: 's', medium: 'd', dense: 'f' };

/**
 * Keys of the image tools (free keys of the analyst screen: N C I U M H + - Del 1–9 are taken). `material(on)`
 * switches the grey / material layer the way the screen's own toggle does (so its button follows).
 */
export function imageToolShortcuts(viewer: () => ScanViewer | null, material: (on: boolean) => void): Shortcut[] {
  const tools = () => viewer()?.tools;
  const group = 'Image tools';
  return [
    ...(Object.keys(WINDOW_PRESETS) as WindowPreset[]).map((name) => ({
      key: PRESET_KEYS[name],
      group,
      label: `Window/level: ${WINDOW_PRESETS[name].label.toLowerCase()}`,
      run: () => tools()?.preset(name),
    })),
    { key: 'wl-drag', group, display: 'Right drag / Ctrl + drag', label: 'Window (left–right) and level (up–down)', run: () => undefined },
    { key: 'g', group, label: 'Gamma: 1 → 1.5 → 2.2 → 0.7', run: () => tools()?.cycleGamma() },
    { key: 'v', group, label: 'Invert', run: () => tools()?.set({ invert: !tools()!.state.invert }) },
    {
      key: 'o',
      group,
      label: 'Material filter: all → organic → mixed → metal',
      run: () => {
        const t = tools();
        if (!t || !viewer()?.hasMaterial) return;
        t.cycleFilter();
        if (t.state.filter !== 'all' && !t.state.material) material(true);
      },
    },
    { key: 'e', group, label: 'Edge enhancement', run: () => tools()?.set({ edges: !tools()!.state.edges }) },
    { key: 'b', group, label: 'Density band highlight', run: () => tools()?.set({ band: !tools()!.state.band }) },
    { key: '[', group, label: 'Density band: lighter', run: () => tools()?.set({ band: true, bandCentre: tools()!.state.bandCentre - 0.15 }) },
    { key: ']', group, label: 'Density band: denser', run: () => tools()?.set({ band: true, bandCentre: tools()!.state.bandCentre + 0.15 }) },
    { key: 'z', group, label: 'Magnifier (×3 under the pointer)', run: () => tools()?.set({ magnifier: !tools()!.state.magnifier }) },
    { key: 'r', group, label: 'Ruler (drag to measure, in mm)', run: () => tools()?.set({ ruler: !tools()!.state.ruler }) },
    { key: '0', group, label: 'Reset the image tools', run: () => tools()?.reset() },
  ];
}

/** The image tools' bar: presets, gamma, invert, filter, edges, band, magnifier, ruler, with their state. */
export function imageToolbar(viewer: ScanViewer, material: (on: boolean) => void): HTMLElement {
  const tools = viewer.tools;
  const bar = h('div', { class: 'tool-bar', role: 'toolbar', 'aria-label': 'Image tools' });
  const gl = viewer.sixteenBit;
  const toggle = (id: string, label: string, key: string, on: boolean, run: () => void, enabled = gl) =>
    h('button', { class: `toggle small${on ? ' on' : ''}`, id, 'aria-pressed': String(on), disabled: !enabled, onclick: run, title: `${label} (${key.toUpperCase()})` }, label, ' ', h('kbd', {}, key.toUpperCase()));
  const render = (state: ImageToolState) => {
    const preset = (Object.keys(WINDOW_PRESETS) as WindowPreset[]).find((name) => Math.abs(WINDOW_PRESETS[name].level - state.level) < 1e-6 && Math.abs(WINDOW_PRESETS[name].window - state.window) < 1e-6);
    const presetSelect = h(
      'select',
      { id: 'wl-preset', 'aria-label': 'Window/level preset', disabled: !gl },
      preset ? null : h('option', { value: '', selected: true }, 'Custom'),
      (Object.keys(WINDOW_PRESETS) as WindowPreset[]).map((name) => h('option', { value: name, selected: name === preset }, `${WINDOW_PRESETS[name].label} (${PRESET_KEYS[name].toUpperCase()})`)),
    );
    presetSelect.addEventListener('change', () => presetSelect.value && tools.preset(presetSelect.value as WindowPreset));
    const filterSelect = h(
      'select',
      { id: 'material-filter', 'aria-label': 'Material filter', disabled: !gl || !viewer.hasMaterial },
      MATERIAL_FILTERS.map((name) => h('option', { value: name, selected: name === state.filter }, name === 'all' ? 'All materials' : `${name} only`)),
    );
    filterSelect.addEventListener('change', () => {
      tools.set({ filter: filterSelect.value as MaterialFilter });
      if (filterSelect.value !== 'all' && !tools.state.material) material(true);
    });
    replace(
      bar,
      gl ? null : h('span', { class: 'muted', title: 'WebGL2 is not available: 8-bit tiles only' }, '8-bit'),
      presetSelect,
      h('span', { class: 'mono muted wl-readout', title: 'Window width / level in log-attenuation units (0 air, 7.3 opaque)' }, `W ${state.window.toFixed(2)} L ${state.level.toFixed(2)}`),
      h('button', { class: 'ghost small', id: 'gamma', disabled: !gl, onclick: () => tools.cycleGamma(), title: 'Gamma (G)' }, `γ ${state.gamma}`, ' ', h('kbd', {}, 'G')),
      toggle('invert', 'Invert', 'v', state.invert, () => tools.set({ invert: !tools.state.invert })),
      filterSelect,
      toggle('edges', 'Edges', 'e', state.edges, () => tools.set({ edges: !tools.state.edges })),
      toggle('band', `Band ${state.bandCentre.toFixed(2)}`, 'b', state.band, () => tools.set({ band: !tools.state.band })),
      toggle('magnifier', 'Lens', 'z', state.magnifier, () => tools.set({ magnifier: !tools.state.magnifier })),
      toggle('ruler', 'Ruler', 'r', state.ruler, () => tools.set({ ruler: !tools.state.ruler }), true),
      h('button', { class: 'ghost small', id: 'tools-reset', onclick: () => tools.reset(), title: 'Reset the image tools (0)' }, 'Reset ', h('kbd', {}, '0')),
    );
  };
  render(tools.state);
  tools.onChange(render);
  return bar;
}
