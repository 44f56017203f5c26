import { describe, expect, it } from 'vitest';
import { parseDuration, readTimeRange, resolveWindow, timeRangeKey, timeRangeSearch, writeTimeRange } from './timeRange';

describe('time range', () => {
  it('parses durations', () => {
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('0m')).toBeNull();
    expect(parseDuration('soon')).toBeNull();
  });

  it('reads relative, absolute and invalid windows', () => {
    expect(readTimeRange(new URLSearchParams(''))).toEqual({ kind: 'relative', range: '1h', ms: 3_600_000 });
    expect(readTimeRange(new URLSearchParams('range=6h'))).toMatchObject({ kind: 'relative', range: '6h' });
    expect(readTimeRange(new URLSearchParams('range=bogus'))).toMatchObject({ range: '1h' });
    expect(readTimeRange(new URLSearchParams('from=1000&to=2000'))).toEqual({ kind: 'absolute', from: 1000, to: 2000 });
    expect(readTimeRange(new URLSearchParams('from=2026-11-26T10:00:00Z&to=2026-11-26T11:00:00Z'))).toEqual({
      kind: 'absolute',
      from: Date.parse('2026-11-26T10:00:00Z'),
      to: Date.parse('2026-11-26T11:00:00Z'),
    });
    // from after to is ignored
    expect(readTimeRange(new URLSearchParams('from=3000&to=2000')).kind).toBe('relative');
  });

  it('round-trips through the URL and leaves the default out', () => {
    const sp = new URLSearchParams('service=x&range=6h');
    writeTimeRange(sp, { kind: 'relative', range: '1h', ms: 3_600_000 });
    expect(sp.toString()).toBe('service=x');
    writeTimeRange(sp, { kind: 'absolute', from: 5, to: 9 });
    expect(sp.toString()).toBe('service=x&from=5&to=9');
    expect(readTimeRange(sp)).toEqual({ kind: 'absolute', from: 5, to: 9 });
  });

  it('resolves a relative window against now and keys it by its name', () => {
    const tr = readTimeRange(new URLSearchParams('range=15m'));
    expect(resolveWindow(tr, 1_000_000_000)).toEqual({ from: 1_000_000_000 - 900_000, to: 1_000_000_000 });
    expect(timeRangeKey(tr)).toBe('15m');
    expect(timeRangeKey({ kind: 'absolute', from: 1, to: 2 })).toBe('1-2');
  });

  it('extracts only the window for nav links', () => {
    expect(timeRangeSearch('?service=x&range=6h&node=a')).toBe('?range=6h');
    expect(timeRangeSearch('?service=x')).toBe('');
  });
});
