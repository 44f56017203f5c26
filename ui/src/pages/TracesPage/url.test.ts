import { describe, expect, it } from 'vitest';
import { getUrl, getUrlState } from './url';

describe('traces url', () => {
  it('round-trips the search', () => {
    const url = getUrl({ service: 'payments-service', operation: 'POST /pay', minDurationMs: 300, limit: 100 });
    expect(url).toBe('/traces?service=payments-service&operation=POST+%2Fpay&min_duration_ms=300&limit=100');
    expect(getUrlState(url.split('?')[1])).toMatchObject({
      service: 'payments-service',
      operation: 'POST /pay',
      minDurationMs: 300,
      limit: 100,
    });
  });

  it('has defaults and bounds', () => {
    expect(getUrl({ limit: 20, minDurationMs: 0 })).toBe('/traces');
    expect(getUrlState('?limit=5000&min_duration_ms=-1')).toMatchObject({ limit: 20, minDurationMs: 0 });
  });
});
