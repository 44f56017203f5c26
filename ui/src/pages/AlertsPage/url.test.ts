import { describe, expect, it } from 'vitest';
import { getUrl, getUrlState, matches } from './url';

describe('alerts url', () => {
  it('leaves out the defaults', () => {
    expect(getUrl({})).toBe('/alerts');
    expect(getUrl({ tab: 'firing', show: 'active', labels: [], receiver: '' })).toBe('/alerts');
    expect(getUrlState('')).toMatchObject({ tab: 'firing', show: 'active', labels: [], receiver: '', outcome: undefined });
    expect(matches('/alerts')).toBe(true);
    expect(matches('/alerts/rules')).toBe(false);
  });

  it('round-trips the tab and the firing filters, labels as repeated parameters', () => {
    const url = getUrl({ show: 'all', labels: ['service=orders-service', 'operation=SELECT a, b FROM t'] });
    expect(url).toBe('/alerts?show=all&label=service%3Dorders-service&label=operation%3DSELECT+a%2C+b+FROM+t');
    expect(getUrlState(url.split('?')[1])).toMatchObject({
      tab: 'firing',
      show: 'all',
      labels: ['service=orders-service', 'operation=SELECT a, b FROM t'],
    });
    expect(getUrl({ tab: 'rules' })).toBe('/alerts?tab=rules');
  });

  it('round-trips the deliveries filters and the time range', () => {
    const url = getUrl({ tab: 'deliveries', receiver: 'ops-webhook', outcome: 'failed', time: { kind: 'relative', range: '6h', ms: 6 * 3_600_000 } });
    expect(url).toBe('/alerts?range=6h&tab=deliveries&receiver=ops-webhook&outcome=failed');
    expect(getUrlState(url.split('?')[1])).toMatchObject({
      tab: 'deliveries',
      receiver: 'ops-webhook',
      outcome: 'failed',
      time: { kind: 'relative', range: '6h' },
    });
  });

  it('drops unknown values and malformed or repeated label matchers', () => {
    expect(getUrlState('?tab=silences&show=muted&outcome=maybe&label=nope&label==x&label=kind%3Dchatty&label=kind%3Dchatty')).toMatchObject({
      tab: 'firing',
      show: 'active',
      outcome: undefined,
      labels: ['kind=chatty'],
    });
    expect(getUrl({ labels: ['bad', 'kind=chatty', 'kind=chatty'] })).toBe('/alerts?label=kind%3Dchatty');
  });
});
