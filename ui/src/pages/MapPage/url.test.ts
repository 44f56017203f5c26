import { describe, expect, it } from 'vitest';
import { getUrl, getUrlState, matches } from './url';

describe('map url', () => {
  it('has defaults and leaves them out of links', () => {
    const s = getUrlState('');
    expect(s).toMatchObject({ hops: 1, metric: 'p95', hide: [], findingsOnly: false, node: undefined, edge: undefined });
    expect(s.time).toMatchObject({ kind: 'relative', range: '1h' });
    expect(getUrl({})).toBe('/');
    expect(getUrl(s)).toBe('/');
  });

  it('round-trips every field', () => {
    const url = getUrl({
      edge: ['orders-service', 'database:postgresql/shop'],
      focus: 'orders-service',
      hops: 2,
      metric: 'errors',
      hide: ['external'],
      findingsOnly: true,
      time: { kind: 'relative', range: '6h', ms: 6 * 3_600_000 },
    });
    const s = getUrlState(url.slice(url.indexOf('?')));
    expect(s.edge).toEqual(['orders-service', 'database:postgresql/shop']);
    expect(s.node).toBeUndefined();
    expect(s).toMatchObject({ focus: 'orders-service', hops: 2, metric: 'errors', hide: ['external'], findingsOnly: true });
    expect(s.time).toMatchObject({ range: '6h' });
  });

  it('prefers an edge over a node and drops invalid values', () => {
    expect(getUrl({ node: 'a', edge: ['b', 'c'] })).toBe('/?src=b&dst=c');
    const s = getUrlState('?node=a&src=b&hops=99&metric=nonsense&hide=database,bogus');
    expect(s.edge).toBeUndefined(); // dst missing: the node stays selected
    expect(s.node).toBe('a');
    expect(s.hops).toBe(1);
    expect(s.metric).toBe('p95');
    expect(s.hide).toEqual(['database']);
  });

  it('memoises equal query strings', () => {
    expect(getUrlState('?node=x')).toBe(getUrlState('node=x'));
  });

  it('matches its paths', () => {
    expect(matches('/')).toBe(true);
    expect(matches('/map')).toBe(true);
    expect(matches('/services')).toBe(false);
  });
});
