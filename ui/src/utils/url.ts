// Helpers for per-page url.ts modules: every view keeps its state in the
// query string so that links are shareable.
import { type TimeRange, writeTimeRange } from './timeRange';

export type ParamValue = string | number | boolean | undefined | null | string[];

/** Builds path?query, leaving out empty values and the default time range. */
export function buildUrl(path: string, params: Record<string, ParamValue>, time?: TimeRange): string {
  const sp = new URLSearchParams();
  if (time) writeTimeRange(sp, time);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    if (Array.isArray(v)) {
      if (v.length) sp.set(k, v.join(','));
      continue;
    }
    sp.set(k, v === true ? '1' : String(v));
  }
  const q = sp.toString();
  return q ? `${path}?${q}` : path;
}

/** Memoises a parser of the query string on its last input, so that equal URLs give the same object. */
export function memoizeLast<T>(fn: (search: string) => T): (search: string) => T {
  let lastKey: string | undefined;
  let last: T;
  return (search: string) => {
    const key = search.startsWith('?') ? search.slice(1) : search;
    if (key !== lastKey) {
      last = fn(key);
      lastKey = key;
    }
    return last;
  };
}

export function readList(sp: URLSearchParams, key: string): string[] {
  const v = sp.get(key);
  return v ? v.split(',').filter(Boolean) : [];
}

export function readInt(sp: URLSearchParams, key: string, def: number, lo: number, hi: number): number {
  const v = sp.get(key);
  if (v === null || !/^\d+$/.test(v)) return def;
  const n = Number(v);
  return n < lo || n > hi ? def : n;
}

export function readBool(sp: URLSearchParams, key: string): boolean {
  const v = sp.get(key);
  return v === '1' || v === 'true';
}

export function readEnum<T extends string>(sp: URLSearchParams, key: string, allowed: readonly T[], def: T): T {
  const v = sp.get(key) as T | null;
  return v !== null && allowed.includes(v) ? v : def;
}
