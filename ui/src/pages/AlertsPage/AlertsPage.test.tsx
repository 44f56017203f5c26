import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { alertRules, alerts, deliveries } from '../../test/fixtures';
import { type Reply, mockApi, renderAt } from '../../test/render';
import { AlertsPage } from './AlertsPage';

afterEach(() => vi.unstubAllGlobals());

const NOT_ENABLED = { status: 404, body: { error: 'alerting is not enabled in this server', error_type: 'not_found' } };

function api(over: Record<string, Reply> = {}) {
  return mockApi({
    '/api/v1/alerts': (url) => {
      const want = url.searchParams.getAll('label');
      const match = (a: (typeof alerts)[0], m: string) => {
        const i = m.indexOf('=');
        return a.labels[m.slice(0, i)] === m.slice(i + 1);
      };
      return { body: { alerts: alerts.filter((a) => want.every((m) => match(a, m))) } };
    },
    '/api/v1/alerts/rules': { body: { rules: alertRules } },
    '/api/v1/alerts/deliveries': { body: { deliveries } },
    ...over,
  });
}

describe('AlertsPage: firing', () => {
  it('lists firing and pending alerts with chips, since, annotations and links', async () => {
    const { calls } = api();
    renderAt(<AlertsPage />, { route: '/alerts' });
    await screen.findAllByTestId('alert-card');
    const cards = screen.getAllByTestId('alert-card');
    expect(cards.map((c) => c.dataset.state)).toEqual(['firing', 'pending']);
    expect(calls.find((u) => u.pathname === '/api/v1/alerts')!.searchParams.get('state')).toBe('all');

    const chatty = cards[0];
    expect(within(chatty).getByRole('heading', { level: 3 })).toHaveTextContent('chatty-calls');
    expect(chatty).toHaveTextContent('Firing');
    expect(chatty).toHaveTextContent('medium');
    expect(within(chatty).getByTestId('alert-since')).toHaveTextContent(/^Firing since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(chatty).toHaveTextContent('10× per request sequentially (N+1)');
    expect(chatty).toHaveTextContent('Batch the item lookups.');
    const chips = within(within(chatty).getByRole('list', { name: 'Labels' })).getAllByRole('button');
    expect(chips.map((c) => c.getAttribute('aria-label'))).toEqual([
      'kind=chatty',
      'service=orders-service',
      'operation=GET /items/{id}',
      'peer=inventory-service',
      'team=shop',
    ]);
    expect(chips[1]).toHaveTextContent('serviceorders-service');
    expect(within(chatty).getByRole('link', { name: 'orders-service on the map' })).toHaveAttribute('href', '/?node=orders-service');
    expect(within(chatty).getByRole('link', { name: 'Finding' })).toHaveAttribute('href', '/findings?kind=chatty&id=39b8f1bb5c478996');
    expect(within(chatty).getByRole('link', { name: 'Example trace' })).toHaveAttribute('href', '/traces/46c8cdfcc8121db2fa350894227acae1');
    expect(within(chatty).getByText('11 traces')).toBeInTheDocument();

    const slow = cards[1];
    expect(slow).toHaveTextContent('Pending');
    expect(within(slow).getByTestId('alert-since')).toHaveTextContent('fires once it has held for 2 min');
    expect(within(slow).getByRole('link', { name: 'payments-service → postgresql/shop on the map' })).toHaveAttribute(
      'href',
      '/?src=payments-service&dst=database%3Apostgresql%2Fshop',
    );
    expect(slow).toHaveTextContent('602 ms');
    expect(within(slow).queryByRole('link', { name: 'Example trace' })).toBeNull();

    expect(screen.getByTestId('alerts-tab-firing')).toHaveTextContent('Firing1');
    expect(screen.getByTestId('alerts-tab-rules')).toHaveTextContent('Rules3');
  });

  it('filters by a label chip through the URL and the API', async () => {
    const { calls } = api();
    const { location } = renderAt(<AlertsPage />, { route: '/alerts' });
    const [chatty] = await screen.findAllByTestId('alert-card');
    await userEvent.click(within(chatty).getByRole('button', { name: 'service=orders-service' }));
    expect(location()).toBe('/alerts?label=service%3Dorders-service');
    await waitFor(() => expect(screen.getAllByTestId('alert-card')).toHaveLength(1));
    expect(calls.at(-1)!.searchParams.getAll('label')).toEqual(['service=orders-service']);
    expect(within(screen.getByTestId('alert-card')).getByRole('button', { name: 'service=orders-service' })).toHaveAttribute('aria-pressed', 'true');
    await userEvent.click(screen.getByRole('button', { name: 'Remove filter service=orders-service' }));
    expect(location()).toBe('/alerts');
    await waitFor(() => expect(screen.getAllByTestId('alert-card')).toHaveLength(2));
  });

  it('shows resolved alerts on request', async () => {
    api();
    const { location } = renderAt(<AlertsPage />, { route: '/alerts' });
    await screen.findAllByTestId('alert-card');
    await userEvent.click(screen.getByRole('button', { name: 'Resolved (1)' }));
    expect(location()).toBe('/alerts?show=resolved');
    const card = screen.getByTestId('alert-card');
    expect(card.dataset.state).toBe('resolved');
    expect(within(card).getByTestId('alert-since')).toHaveTextContent('Resolved since');
  });

  it('says no alerts are firing, and points at the docs when no rule is configured', async () => {
    api({ '/api/v1/alerts': { body: { alerts: [] } }, '/api/v1/alerts/rules': { body: { rules: [] } } });
    renderAt(<AlertsPage />, { route: '/alerts' });
    expect(await screen.findByRole('heading', { name: 'No alerts are firing' })).toBeInTheDocument();
    const hint = await screen.findByTestId('alerts-docs-hint');
    expect(hint).toHaveTextContent('No alerting rules are configured');
    expect(hint).toHaveTextContent('docs/alerts.md');
  });

  it('says no alerts are firing, with a link to the rules when there are some', async () => {
    api({ '/api/v1/alerts': { body: { alerts: [] } } });
    renderAt(<AlertsPage />, { route: '/alerts' });
    expect(await screen.findByRole('heading', { name: 'No alerts are firing' })).toBeInTheDocument();
    expect(await screen.findByRole('link', { name: 'see the rules' })).toHaveAttribute('href', '/alerts?tab=rules');
    expect(screen.queryByTestId('alerts-docs-hint')).toBeNull();
  });

  it('shows loading, API errors, and a server without alerting', async () => {
    vi.stubGlobal('fetch', vi.fn(() => new Promise(() => {})));
    const first = renderAt(<AlertsPage />, { route: '/alerts' });
    expect(screen.getByRole('status')).toHaveTextContent('Loading alerts…');
    first.unmount();

    api({ '/api/v1/alerts': { status: 500, body: { error: 'ClickHouse: connection refused', error_type: 'internal' } } });
    const second = renderAt(<AlertsPage />, { route: '/alerts' });
    expect(await screen.findByRole('alert')).toHaveTextContent('ClickHouse: connection refused');
    second.unmount();

    api({ '/api/v1/alerts': NOT_ENABLED, '/api/v1/alerts/rules': NOT_ENABLED });
    renderAt(<AlertsPage />, { route: '/alerts' });
    expect(await screen.findByRole('heading', { name: 'Alerting is not enabled in this server' })).toBeInTheDocument();
    expect(screen.getByTestId('alerts-docs-hint')).toHaveTextContent('docs/alerts.md');
  });
});

describe('AlertsPage: tabs', () => {
  it('switches tabs with clicks and arrow keys, keeping the tab in the URL', async () => {
    api();
    const { location } = renderAt(<AlertsPage />, { route: '/alerts?range=6h&show=all' });
    await screen.findAllByTestId('alert-card');
    const firing = screen.getByRole('tab', { name: /Firing/ });
    expect(firing).toHaveAttribute('aria-selected', 'true');
    expect(screen.getByRole('tabpanel')).toHaveAttribute('aria-labelledby', 'alerts-tab-firing');
    await userEvent.click(screen.getByRole('tab', { name: /Rules/ }));
    expect(location()).toBe('/alerts?range=6h&tab=rules');
    expect(await screen.findByTestId('rules-table')).toBeInTheDocument();
    screen.getByRole('tab', { name: /Rules/ }).focus();
    await userEvent.keyboard('{ArrowRight}');
    expect(location()).toBe('/alerts?range=6h&tab=deliveries');
    expect(screen.getByRole('tab', { name: /Deliveries/ })).toHaveFocus();
    expect(await screen.findByTestId('deliveries-table')).toBeInTheDocument();
    await userEvent.keyboard('{ArrowRight}');
    expect(location()).toBe('/alerts?range=6h');
    expect(screen.getByRole('tab', { name: /Firing/ })).toHaveFocus();
    expect(screen.getByRole('tab', { name: /Rules/ })).toHaveAttribute('tabindex', '-1');
  });
});

describe('AlertsPage: rules', () => {
  it('lists the rules in plain words with for:, severity, receivers and active alerts', async () => {
    api();
    renderAt(<AlertsPage />, { route: '/alerts?tab=rules' });
    const table = await screen.findByTestId('rules-table');
    const rows = within(table).getAllByTestId('rule-row');
    expect(rows.map((r) => r.dataset.rule)).toEqual(['chatty-calls', 'slow-payments', 'payments-errors']);
    const [chatty, slow, errors] = rows;
    expect(chatty).toHaveTextContent('finding');
    expect(chatty).toHaveTextContent('A chatty-calls finding (N+1 or call storm) of any severity in any service, seen within the last 10 min');
    expect(chatty).toHaveTextContent('0 sfires at once');
    expect(chatty).toHaveTextContent('the finding’s');
    expect(chatty).toHaveTextContent('ops-webhook');
    expect(chatty).toHaveTextContent('adds team=shop');
    await waitFor(() => expect(within(chatty).getByRole('link', { name: 'chatty-calls: 1 firing, 0 pending' })).toHaveAttribute('href', '/alerts?label=alertname%3Dchatty-calls'));
    expect(slow).toHaveTextContent('metric');
    expect(slow).toHaveTextContent('p99 latency of calls from payments-service to any peer above 100 ms over the last 5 min');
    expect(slow).toHaveTextContent('2 minpending until then');
    expect(slow).toHaveTextContent('critical');
    expect(slow).toHaveTextContent('ops-webhookslack');
    expect(within(slow).getByRole('link')).toHaveTextContent('1 pending');
    expect(within(slow).getByText(/p99 latency/)).toHaveAttribute('title', alertRules[1].condition);
    expect(errors).toHaveTextContent('at or above 5% over the last 10 min, with at least 50 requests');
    expect(within(errors).queryByRole('link')).toBeNull();
  });

  it('points at the docs when no rule is configured', async () => {
    api({ '/api/v1/alerts/rules': { body: { rules: [] } }, '/api/v1/alerts': { body: { alerts: [] } } });
    renderAt(<AlertsPage />, { route: '/alerts?tab=rules' });
    expect(await screen.findByRole('heading', { name: 'No alerting rules are configured' })).toBeInTheDocument();
    expect(screen.getByTestId('alerts-docs-hint')).toHaveTextContent('docs/alerts.md');
  });
});

describe('AlertsPage: deliveries', () => {
  it('lists delivery attempts and filters them through the URL', async () => {
    const { calls } = api();
    const { location } = renderAt(<AlertsPage />, { route: '/alerts?tab=deliveries&from=1000&to=2000' });
    const table = await screen.findByTestId('deliveries-table');
    const rows = within(table).getAllByTestId('delivery-row');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('slack');
    expect(rows[0]).toHaveTextContent('retry');
    expect(rows[0]).toHaveTextContent('503');
    expect(rows[0]).toHaveTextContent('https://hooks.slack.com/<redacted> responded 503 Service Unavailable');
    expect(rows[0].querySelectorAll('td')[5]).toHaveTextContent('2');
    expect(rows[1]).toHaveTextContent('ops-webhook');
    expect(rows[1]).toHaveTextContent('success');
    expect(rows[1]).toHaveTextContent('200');
    expect(rows[1]).toHaveTextContent('firing, 1 alert');
    const first = calls.find((u) => u.pathname === '/api/v1/alerts/deliveries')!;
    expect(Object.fromEntries(first.searchParams)).toEqual({ from: '1000', to: '2000', limit: '500' });

    await userEvent.click(screen.getByRole('button', { name: 'Failed' }));
    expect(location()).toBe('/alerts?from=1000&to=2000&tab=deliveries&outcome=failed');
    await userEvent.selectOptions(screen.getByLabelText('Receiver'), 'slack');
    expect(location()).toBe('/alerts?from=1000&to=2000&tab=deliveries&receiver=slack&outcome=failed');
    await waitFor(() => {
      const last = calls.filter((u) => u.pathname === '/api/v1/alerts/deliveries').at(-1)!;
      expect(last.searchParams.get('receiver')).toBe('slack');
      expect(last.searchParams.get('outcome')).toBe('failed');
    });
  });

  it('says when nothing was sent', async () => {
    api({ '/api/v1/alerts/deliveries': { body: { deliveries: [] } } });
    renderAt(<AlertsPage />, { route: '/alerts?tab=deliveries' });
    expect(await screen.findByRole('heading', { name: 'No notifications were sent in this window' })).toBeInTheDocument();
  });
});
