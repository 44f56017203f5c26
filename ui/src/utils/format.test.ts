import { describe, expect, it } from 'vitest';
import { formatAgo, formatBytes, formatCount, formatMs, formatNs, formatOffsetNs, formatPercent, shortId } from './format';

describe('format', () => {
  it('formats milliseconds at every scale', () => {
    expect(formatMs(0)).toBe('0 ms');
    expect(formatMs(0.4213)).toBe('0.42 ms');
    expect(formatMs(8.3)).toBe('8.3 ms');
    expect(formatMs(101.849)).toBe('102 ms');
    expect(formatMs(1250)).toBe('1.25 s');
    expect(formatMs(125_000)).toBe('2 m 5 s');
    expect(formatMs(7_200_000)).toBe('2 h');
    expect(formatMs(undefined)).toBe('–');
    expect(formatMs(NaN)).toBe('–');
  });

  it('formats nanoseconds', () => {
    expect(formatNs(500)).toBe('500 ns');
    expect(formatNs(40_000)).toBe('40 µs');
    expect(formatNs(2_500)).toBe('2.5 µs');
    expect(formatNs(50_000_000)).toBe('50 ms');
  });

  it('formats bytes with binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(4608)).toBe('4.5 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5 MiB');
    expect(formatBytes(5242973)).toBe('5 MiB');
    expect(formatBytes(300 * 1024)).toBe('300 KiB');
  });

  it('formats percentages, counts and ids', () => {
    expect(formatPercent(0.0025)).toBe('0.3%');
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(0.0004)).toBe('<0.1%');
    expect(formatPercent(0.853, 0)).toBe('85%');
    expect(formatCount(950)).toBe('950');
    expect(formatCount(12_345)).toBe('12k');
    expect(formatCount(1500)).toBe('1.5k');
    expect(formatCount(4_500_000)).toBe('4.5M');
    expect(shortId('5b8efff798038103d269b633813fc60c')).toBe('5b8efff7');
  });

  it('formats relative times', () => {
    const now = Date.parse('2026-11-26T10:00:00Z');
    expect(formatAgo('2026-11-26T09:59:55Z', now)).toBe('just now');
    expect(formatAgo('2026-11-26T09:57:00Z', now)).toBe('3 min ago');
    expect(formatAgo('2026-11-26T07:00:00Z', now)).toBe('3 h ago');
  });
});

describe('formatOffsetNs', () => {
  it('hides the rounding of nanosecond timestamps', () => {
    const t0 = 1_795_659_517_840_000_000;
    expect(formatOffsetNs(t0 + 16e6 - (t0 + 15e6))).toBe('1 ms');
    expect(formatOffsetNs(2_500)).toBe('2.5 µs');
  });
});
