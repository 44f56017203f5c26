import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findings, services } from '../../test/fixtures';
import { mockApi, renderAt } from '../../test/render';
import { ServicesPage, shapeServiceRows } from './ServicesPage';

afterEach(() => vi.unstubAllGlobals());

describe('shapeServiceRows', () => {
  const counts = new Map([['orders-service', { count: 2, worst: 'medium' }]]);
  it('sorts by any column and filters by name', () => {
    expect(shapeServiceRows(services, counts, '', 'requests', 'desc').map((r) => r.name)).toEqual([
      'inventory-service',
      'api-gateway',
      'orders-service',
      'payments-service',
    ]);
    expect(shapeServiceRows(services, counts, '', 'name', 'asc')[0].name).toBe('api-gateway');
    expect(shapeServiceRows(services, counts, '', 'findings', 'desc')[0]).toMatchObject({ name: 'orders-service', findings: 2 });
    expect(shapeServiceRows(services, counts, 'SERV', 'p95_ms', 'desc').map((r) => r.name)).toEqual([
      'payments-service',
      'orders-service',
      'inventory-service',
    ]);
  });
});

describe('ServicesPage', () => {
  it('shows RED metrics and sorts through the URL', async () => {
    mockApi({ '/api/v1/services': { body: { services } }, '/api/v1/findings': { body: { findings } } });
    const { location } = renderAt(<ServicesPage />, { route: '/services' });
    const table = await screen.findByTestId('services-table');
    const rows = within(table).getAllByRole('row');
    expect(rows).toHaveLength(5);
    expect(rows[1]).toHaveTextContent('inventory-service');
    const payments = rows.find((r) => r.textContent?.includes('payments-service'))!;
    expect(payments).toHaveTextContent('10%');
    expect(payments).toHaveTextContent('639 ms');
    expect(within(payments).getByRole('link', { name: '1 findings for payments-service' })).toHaveAttribute(
      'href',
      '/findings?service=payments-service',
    );
    await userEvent.click(within(table).getByRole('button', { name: 'p95' }));
    expect(location()).toBe('/services?sort=p95_ms');
    expect(within(table).getAllByRole('row')[1]).toHaveTextContent('payments-service');
    await userEvent.click(within(table).getByRole('button', { name: /p95/ }));
    expect(location()).toBe('/services?sort=p95_ms&dir=asc');
  });

  it('says when nothing matches and when there are no services', async () => {
    mockApi({ '/api/v1/services': { body: { services: [] } }, '/api/v1/findings': { body: { findings: [] } } });
    renderAt(<ServicesPage />, { route: '/services' });
    expect(await screen.findByText('No services in this window')).toBeInTheDocument();
  });
});
