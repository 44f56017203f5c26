// The time window of every view, kept in the URL: either a relative range
// ("range=1h", re-evaluated at each fetch so refreshes move with the clock)
// or an absolute one ("from=<unix ms>&to=<unix ms>").

export const RANGE_PRESETS = [
  { value: '5m', label: 'Last 5 minutes', ms: 5 * 60_000 },
  { value: '15m', label: 'Last 15 minutes', ms: 15 * 60_000 },
  { value: '1h', label: 'Last hour', ms: 3_600_000 },
  { value: '6h', label: 'Last 6 hours', ms: 6 * 3_600_000 },
  { value: '24h', label: 'Last 24 hours', ms: 24 * 3_600_000 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
] as const;

export const DEFAULT_RANGE = '1h';

export type TimeRange = { kind: 'relative'; range: string; ms: number } | { kind: 'absolute'; from: number; to: number };

/** Parses "15m", "2h", "7d", "30s" into milliseconds, or null. */
export function parseDuration(v: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  const ms = n * unit;
  return ms > 0 ? ms : null;
}

function parseTimeParam(v: string | null): number | null {
  if (!v) return null;
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

/** Reads the window from URL parameters; invalid values fall back to the default. */
export function readTimeRange(sp: URLSearchParams): TimeRange {
  const from = parseTimeParam(sp.get('from'));
  const to = parseTimeParam(sp.get('to'));
  if (from !== null && to !== null && from < to) return { kind: 'absolute', from, to };
  const range = sp.get('range') ?? DEFAULT_RANGE;
  const ms = parseDuration(range);
  if (ms !== null) return { kind: 'relative', range, ms };
  return { kind: 'relative', range: DEFAULT_RANGE, ms: parseDuration(DEFAULT_RANGE)! };
}

/** Writes the window into URL parameters (the default range is left out). */
export function writeTimeRange(sp: URLSearchParams, tr: TimeRange): void {
  sp.delete('range');
  sp.delete('from');
  sp.delete('to');
  if (tr.kind === 'absolute') {
    sp.set('from', String(Math.round(tr.from)));
    sp.set('to', String(Math.round(tr.to)));
  } else if (tr.range !== DEFAULT_RANGE) {
    sp.set('range', tr.range);
  }
}

/** The concrete window to query, in Unix ms. */
export function resolveWindow(tr: TimeRange, now: number = Date.now()): { from: number; to: number } {
  if (tr.kind === 'absolute') return { from: tr.from, to: tr.to };
  return { from: Math.round(now - tr.ms), to: Math.round(now) };
}

/** A stable key for caches: the same window gives the same key. */
export function timeRangeKey(tr: TimeRange): string {
  return tr.kind === 'absolute' ? `${tr.from}-${tr.to}` : tr.range;
}

export function timeRangeLabel(tr: TimeRange): string {
  if (tr.kind === 'relative') {
    const p = RANGE_PRESETS.find((x) => x.value === tr.range);
    return p ? p.label : `Last ${tr.range}`;
  }
  return `${new Date(tr.from).toLocaleString()} – ${new Date(tr.to).toLocaleString()}`;
}

/** Only the time-window parameters of a query string (carried across pages by the nav). */
export function timeRangeSearch(search: string): string {
  const src = new URLSearchParams(search);
  const out = new URLSearchParams();
  for (const k of ['range', 'from', 'to']) {
    const v = src.get(k);
    if (v) out.set(k, v);
  }
  const s = out.toString();
  return s ? `?${s}` : '';
}
