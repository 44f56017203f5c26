import { describe, expect, it } from 'vitest';
import { getUrl, getUrlState, matches } from './url';

describe('trace url', () => {
  it('round-trips the selected span and filters', () => {
    const url = getUrl('5b8efff798038103d269b633813fc60c', { span: 'eee19b7ec3c1b174', criticalOnly: true, find: 'db' });
    expect(url).toBe('/traces/5b8efff798038103d269b633813fc60c?span=eee19b7ec3c1b174&cp=1&find=db');
    expect(getUrlState(url.split('?')[1])).toEqual({ span: 'eee19b7ec3c1b174', criticalOnly: true, find: 'db' });
    expect(getUrl('abc')).toBe('/traces/abc');
  });

  it('matches trace paths only', () => {
    expect(matches('/traces/5b8efff798038103d269b633813fc60c')).toBe(true);
    expect(matches('/traces')).toBe(false);
    expect(matches('/traces/xyz')).toBe(false);
  });
});
