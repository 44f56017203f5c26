import { describe, expect, it } from 'vitest';
import { getUrl, getUrlState } from './url';

describe('findings url', () => {
  it('round-trips filters and the highlighted finding', () => {
    const url = getUrl({ kind: 'chatty', severity: 'medium', service: 'orders', id: '39b8f1bb5c478996' });
    expect(url).toBe('/findings?kind=chatty&severity=medium&service=orders&id=39b8f1bb5c478996');
    expect(getUrlState(url.split('?')[1])).toMatchObject({ kind: 'chatty', severity: 'medium', service: 'orders', id: '39b8f1bb5c478996' });
  });

  it('drops unknown kinds and severities', () => {
    expect(getUrlState('?kind=spam&severity=apocalyptic')).toMatchObject({ kind: undefined, severity: undefined });
    expect(getUrl({})).toBe('/findings');
  });
});
