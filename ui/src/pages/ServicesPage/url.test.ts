import { describe, expect, it } from 'vitest';
import { getUrl, getUrlState } from './url';

describe('services url', () => {
  it('defaults to busiest first and omits defaults', () => {
    expect(getUrlState('')).toMatchObject({ q: '', sort: 'requests', dir: 'desc' });
    expect(getUrl({ sort: 'requests', dir: 'desc' })).toBe('/services');
    expect(getUrl({ sort: 'name', dir: 'asc' })).toBe('/services?sort=name');
  });

  it('round-trips filter and sort', () => {
    const url = getUrl({ q: 'pay', sort: 'p95_ms', dir: 'asc', time: { kind: 'absolute', from: 1, to: 2 } });
    expect(url).toBe('/services?from=1&to=2&q=pay&sort=p95_ms&dir=asc');
    expect(getUrlState(url.split('?')[1])).toMatchObject({ q: 'pay', sort: 'p95_ms', dir: 'asc', time: { kind: 'absolute', from: 1, to: 2 } });
  });

  it('ignores unknown sort keys', () => {
    expect(getUrlState('?sort=drop_table&dir=sideways')).toMatchObject({ sort: 'requests', dir: 'desc' });
  });
});
