// The Cytoscape stylesheet of the service map, coloured from the theme's CSS
// variables so the canvas follows light/dark like the rest of the page.
import type cytoscape from 'cytoscape';

export interface Palette {
  text: string;
  text2: string;
  text3: string;
  surface: string;
  surface2: string;
  surface3: string;
  border: string;
  accent: string;
  accentSoft: string;
  good: string;
  goodSoft: string;
  warn: string;
  warnSoft: string;
  bad: string;
  badSoft: string;
  crit: string;
  low: string;
  bg: string;
}

const FALLBACK: Palette = {
  text: '#171c26',
  text2: '#4a5365',
  text3: '#6f7889',
  surface: '#ffffff',
  surface2: '#f0f2f5',
  surface3: '#e7eaef',
  border: '#dfe3e9',
  accent: '#4f46e5',
  accentSoft: '#eef0ff',
  good: '#15803d',
  goodSoft: '#e7f6ec',
  warn: '#b45309',
  warnSoft: '#fdf3e2',
  bad: '#dc2626',
  badSoft: '#fdeaea',
  crit: '#9f1239',
  low: '#2563eb',
  bg: '#f5f6f8',
};

export function readPalette(): Palette {
  const cs = getComputedStyle(document.documentElement);
  const v = (name: string, fb: string) => cs.getPropertyValue(name).trim() || fb;
  return {
    text: v('--text', FALLBACK.text),
    text2: v('--text-2', FALLBACK.text2),
    text3: v('--text-3', FALLBACK.text3),
    surface: v('--surface', FALLBACK.surface),
    surface2: v('--surface-2', FALLBACK.surface2),
    surface3: v('--surface-3', FALLBACK.surface3),
    border: v('--border-strong', FALLBACK.border),
    accent: v('--accent', FALLBACK.accent),
    accentSoft: v('--accent-soft', FALLBACK.accentSoft),
    good: v('--good', FALLBACK.good),
    goodSoft: v('--good-soft', FALLBACK.goodSoft),
    warn: v('--warn', FALLBACK.warn),
    warnSoft: v('--warn-soft', FALLBACK.warnSoft),
    bad: v('--bad', FALLBACK.bad),
    badSoft: v('--bad-soft', FALLBACK.badSoft),
    crit: v('--crit', FALLBACK.crit),
    low: v('--low', FALLBACK.low),
    bg: v('--bg', FALLBACK.bg),
  };
}

/** Node width from its label, so names fit inside the box. */
export function nodeWidth(label: string): number {
  return Math.max(64, Math.min(280, label.length * 7.4 + 28));
}

export function buildStylesheet(p: Palette): cytoscape.StylesheetJson {
  const sevColor = { critical: p.crit, high: p.bad, medium: p.warn, low: p.low };
  return [
    {
      selector: 'node',
      style: {
        shape: 'round-rectangle',
        width: (ele: cytoscape.NodeSingular) => nodeWidth(String(ele.data('label') ?? '')),
        height: 32,
        'background-color': p.accentSoft,
        'border-width': 1.5,
        'border-color': p.accent,
        label: 'data(label)',
        color: p.text,
        'font-size': 12.5,
        'font-weight': 600,
        'font-family': 'ui-sans-serif, system-ui, -apple-system, Segoe UI, Roboto, sans-serif',
        'text-valign': 'center',
        'text-halign': 'center',
        'min-zoomed-font-size': 7,
        'transition-property': 'opacity',
        'transition-duration': 150,
      },
    },
    {
      selector: 'node.database',
      style: { shape: 'barrel', height: 40, 'background-color': p.goodSoft, 'border-color': p.good },
    },
    {
      selector: 'node.messaging',
      style: { shape: 'round-tag', height: 36, 'background-color': p.warnSoft, 'border-color': p.warn },
    },
    {
      selector: 'node.external',
      style: {
        shape: 'round-hexagon',
        height: 36,
        'background-color': p.surface3,
        'border-color': p.text3,
        'border-style': 'dashed',
      },
    },
    {
      selector: 'node.erroring',
      style: { color: p.bad },
    },
    ...(['low', 'medium', 'high', 'critical'] as const).map((s) => ({
      selector: `node.has-finding.sev-${s}`,
      style: {
        'border-width': 3,
        'border-color': sevColor[s],
        'underlay-color': sevColor[s],
        'underlay-padding': 6,
        'underlay-opacity': 0.22,
      },
    })),
    {
      selector: 'edge',
      style: {
        width: 'data(width)',
        'curve-style': 'bezier',
        'target-arrow-shape': 'triangle',
        'arrow-scale': 0.9,
        'line-color': p.text3,
        'target-arrow-color': p.text3,
        opacity: 0.85,
        'transition-property': 'opacity',
        'transition-duration': 150,
      },
    },
    { selector: 'edge.level-0', style: { 'line-color': p.text3, 'target-arrow-color': p.text3 } },
    { selector: 'edge.level-1', style: { 'line-color': p.warn, 'target-arrow-color': p.warn } },
    { selector: 'edge.level-2', style: { 'line-color': p.bad, 'target-arrow-color': p.bad } },
    ...(['low', 'medium', 'high', 'critical'] as const).map((s) => ({
      selector: `edge.has-finding.sev-${s}`,
      style: {
        'underlay-color': sevColor[s],
        'underlay-padding': 5,
        'underlay-opacity': 0.3,
        label: 'data(badge)',
        'font-size': 12,
        'font-weight': 700,
        color: p.surface,
        'text-background-color': sevColor[s],
        'text-background-opacity': 1,
        'text-background-padding': '3px',
        'text-background-shape': 'round-rectangle',
        'min-zoomed-font-size': 6,
        opacity: 1,
      },
    })),
    {
      selector: '.hover',
      style: { 'overlay-color': p.accent, 'overlay-opacity': 0.08, 'overlay-padding': 5 },
    },
    {
      selector: 'node.sel',
      style: { 'border-width': 3.5, 'border-color': p.accent, 'overlay-color': p.accent, 'overlay-opacity': 0.12, 'overlay-padding': 6 },
    },
    {
      selector: 'edge.sel',
      style: { 'line-color': p.accent, 'target-arrow-color': p.accent, opacity: 1, 'z-index': 10 },
    },
    { selector: '.faded', style: { opacity: 0.16 } },
    { selector: 'node.focus', style: { 'border-width': 3.5, 'border-style': 'double' } },
    // Cytoscape's own selection box is not used (selection lives in the URL).
    { selector: ':selected', style: { 'overlay-opacity': 0 } },
  ] as cytoscape.StylesheetJson;
}
