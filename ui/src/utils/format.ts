// Number, duration, size and time formatting shared by every view.

/** Formats milliseconds: 0.42 ms, 12.3 ms, 450 ms, 1.25 s, 2 m 5 s. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  const abs = Math.abs(ms);
  if (abs === 0) return '0 ms';
  if (abs < 1) return `${trim(ms.toFixed(2))} ms`;
  if (abs < 10) return `${trim(ms.toFixed(2))} ms`;
  if (abs < 100) return `${trim(ms.toFixed(1))} ms`;
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${trim((ms / 1000).toFixed(2))} s`;
  if (abs < 3_600_000) {
    const m = Math.floor(ms / 60_000);
    const s = Math.round((ms - m * 60_000) / 1000);
    return s ? `${m} m ${s} s` : `${m} m`;
  }
  const h = Math.floor(ms / 3_600_000);
  const m = Math.round((ms - h * 3_600_000) / 60_000);
  return m ? `${h} h ${m} m` : `${h} h`;
}

/** Formats nanoseconds as a duration. */
export function formatNs(ns: number | null | undefined): string {
  if (ns === null || ns === undefined || !Number.isFinite(ns)) return '–';
  if (ns !== 0 && Math.abs(ns) < 1000) return `${Math.round(ns)} ns`;
  if (ns !== 0 && Math.abs(ns) < 1_000_000) return `${trim((ns / 1000).toFixed(ns < 10_000 ? 2 : 1))} µs`;
  return formatMs(ns / 1e6);
}

function trim(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** Formats a byte count with binary units: 512 B, 4.5 KiB, 5 MiB. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${Math.round(v)} B`;
  return `${trim(v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0))} ${units[i]}`;
}

/** Formats a 0..1 ratio as a percentage. */
export function formatPercent(ratio: number | null | undefined, digits = 1): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '–';
  const p = ratio * 100;
  if (p === 0) return '0%';
  if (p < 0.1 && digits <= 1) return '<0.1%';
  return `${trim(p.toFixed(digits))}%`;
}

/** Formats counts: 950, 12.3k, 4.5M. */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  if (abs < 1000) return Number.isInteger(n) ? String(n) : trim(n.toFixed(1));
  if (abs < 1e6) return `${trim((n / 1e3).toFixed(abs < 1e4 ? 1 : 0))}k`;
  if (abs < 1e9) return `${trim((n / 1e6).toFixed(abs < 1e7 ? 1 : 0))}M`;
  return `${trim((n / 1e9).toFixed(1))}G`;
}

/** A local date-time, e.g. "2026-11-26 10:04:05". */
export function formatDateTime(t: string | number | Date): string {
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) return '–';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "3 min ago", "2 h ago", "just now". */
export function formatAgo(t: string | number | Date, now: number = Date.now()): string {
  const d = t instanceof Date ? t.getTime() : new Date(t).getTime();
  if (Number.isNaN(d)) return '–';
  const s = Math.round((now - d) / 1000);
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A short form of a trace or span id for tables. */
export function shortId(id: string, n = 8): string {
  return id.length > n ? id.slice(0, n) : id;
}

/**
 * Formats the difference of two Unix-nanosecond timestamps. Such numbers
 * exceed 2^53, so after JSON parsing a difference is only good to ~256 ns:
 * above 100 µs it is rounded to the microsecond to avoid "999.9 µs".
 */
export function formatOffsetNs(ns: number): string {
  return formatNs(Math.abs(ns) >= 100_000 ? Math.round(ns / 1000) * 1000 : ns);
}
