import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TraceSummary } from '../../api/types';
import { services } from '../../test/fixtures';
import { mockApi, renderAt } from '../../test/render';
import { TracesPage } from './TracesPage';

afterEach(() => vi.unstubAllGlobals());

const traces: TraceSummary[] = [
  { trace_id: 'a'.repeat(32), root_service: 'web-frontend', root_operation: 'POST /checkout', start: new Date().toISOString(), duration_ms: 686, span_count: 35, error_count: 0, error: false },
  { trace_id: 'b'.repeat(32), root_service: 'web-frontend', root_operation: 'GET /cart', start: new Date().toISOString(), duration_ms: 50, span_count: 2, error_count: 1, error: true },
];

describe('TracesPage', () => {
  it('searches through the URL and lists results', async () => {
    const { calls } = mockApi({
      '/api/v1/services': { body: { services } },
      '/api/v1/traces': (url) => ({ body: { traces: url.searchParams.get('service') ? traces.slice(0, 1) : traces } }),
    });
    const { location } = renderAt(<TracesPage />, { route: '/traces' });
    let table = await screen.findByTestId('traces-table');
    expect(within(table).getAllByRole('row')).toHaveLength(3);
    await screen.findByRole('option', { name: 'payments-service' });
    await userEvent.selectOptions(screen.getByLabelText('Service'), 'payments-service');
    await userEvent.type(screen.getByLabelText('Min duration (ms)'), '300');
    await userEvent.click(screen.getByRole('button', { name: 'Search' }));
    expect(location()).toBe('/traces?service=payments-service&min_duration_ms=300');
    table = await screen.findByTestId('traces-table');
    await vi.waitFor(() => expect(within(table).getAllByRole('row')).toHaveLength(2));
    const last = calls.filter((c) => c.pathname === '/api/v1/traces').at(-1)!;
    expect(last.searchParams.get('service')).toBe('payments-service');
    expect(last.searchParams.get('min_duration_ms')).toBe('300');
    expect(within(table).getAllByRole('link', { name: 'web-frontend' })[0]).toHaveAttribute('href', `/traces/${'a'.repeat(32)}`);
    expect(screen.getByRole('img', { name: 'Trace durations over time' })).toBeInTheDocument();
  });

  it('shows an empty state and errors', async () => {
    mockApi({
      '/api/v1/services': { body: { services: [] } },
      '/api/v1/traces': { status: 400, body: { error: 'invalid parameter "limit": want an integer from 1 to 1000', error_type: 'bad_data' } },
    });
    renderAt(<TracesPage />, { route: '/traces?limit=5' });
    expect(await screen.findByRole('alert')).toHaveTextContent('invalid parameter "limit"');
  });
});
