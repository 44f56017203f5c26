import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockApi } from '../test/render';
import { ApiError, api, getJSON, toQueryString } from './client';

afterEach(() => vi.unstubAllGlobals());

describe('toQueryString', () => {
  it('leaves out empty values and encodes the rest', () => {
    expect(toQueryString({ service: 'a b', operation: '', limit: 20, from: undefined, to: null })).toBe('?service=a+b&limit=20');
    expect(toQueryString({})).toBe('');
  });

  it('repeats a parameter given as an array', () => {
    expect(toQueryString({ label: ['service=orders', 'kind=chatty', ''], state: 'all' })).toBe(
      '?label=service%3Dorders&label=kind%3Dchatty&state=all',
    );
    expect(toQueryString({ label: [] })).toBe('');
  });
});

describe('getJSON', () => {
  it('returns the decoded body', async () => {
    mockApi({ '/api/v1/services': { body: { services: [{ name: 'x' }] } } });
    await expect(api.services({ from: 1, to: 2 })).resolves.toEqual({ services: [{ name: 'x' }] });
  });

  it('sends the window and filters as query parameters', async () => {
    const { calls } = mockApi({ '/api/v1/traces': { body: { traces: [] } } });
    await api.traces({ from: 1000, to: 2000, service: 'orders', min_duration_ms: 300, limit: 50 });
    const q = calls[0].searchParams;
    expect(calls[0].pathname).toBe('/api/v1/traces');
    expect(Object.fromEntries(q)).toEqual({ from: '1000', to: '2000', service: 'orders', min_duration_ms: '300', limit: '50' });
  });

  it('asks for alerts with repeated label matchers, rules and deliveries', async () => {
    const { calls } = mockApi({
      '/api/v1/alerts': { body: { alerts: [] } },
      '/api/v1/alerts/rules': { body: { rules: [] } },
      '/api/v1/alerts/deliveries': { body: { deliveries: [] } },
    });
    await api.alerts({ state: 'all', labels: ['service=orders-service', 'kind=chatty'] });
    expect(calls[0].pathname).toBe('/api/v1/alerts');
    expect(calls[0].searchParams.get('state')).toBe('all');
    expect(calls[0].searchParams.getAll('label')).toEqual(['service=orders-service', 'kind=chatty']);
    await api.alertRules();
    expect(calls[1].pathname).toBe('/api/v1/alerts/rules');
    await api.alertDeliveries({ from: 1000, to: 2000, receiver: 'ops', outcome: 'failed', limit: 50 });
    expect(calls[2].pathname).toBe('/api/v1/alerts/deliveries');
    expect(Object.fromEntries(calls[2].searchParams)).toEqual({ from: '1000', to: '2000', receiver: 'ops', outcome: 'failed', limit: '50' });
  });

  it('turns the error envelope into an ApiError', async () => {
    mockApi({
      '/api/v1/traces': {
        status: 400,
        body: { error: 'invalid parameter "trace_id": want 32 hex characters', error_type: 'bad_data' },
      },
    });
    const err = await api.trace('nope').catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, errorType: 'bad_data', message: 'invalid parameter "trace_id": want 32 hex characters' });
  });

  it('reports a non-JSON error body with its status', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<html>bad gateway</html>', { status: 502 })));
    const err = (await getJSON('/services').catch((e: unknown) => e)) as ApiError;
    expect(err).toMatchObject({ status: 502, errorType: 'bad_response' });
    expect(err.message).toContain('bad gateway');
  });

  it('reports a success without JSON', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<!doctype html>', { status: 200 })));
    await expect(getJSON('/services')).rejects.toMatchObject({ errorType: 'bad_response' });
  });

  it('reports an unreachable server as a network error', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    await expect(getJSON('/services')).rejects.toMatchObject({ status: 0, errorType: 'network' });
  });

  it('passes aborts through untouched', async () => {
    const abort = new DOMException('aborted', 'AbortError');
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(abort)));
    await expect(getJSON('/services')).rejects.toBe(abort);
  });
});
