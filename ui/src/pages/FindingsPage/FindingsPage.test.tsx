import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findings, chattyFinding, bottleneckFinding } from '../../test/fixtures';
import { mockApi, renderAt } from '../../test/render';
import { FindingsPage, groupFindings } from './FindingsPage';

afterEach(() => vi.unstubAllGlobals());

describe('groupFindings', () => {
  it('groups by kind in a fixed order, worst first', () => {
    const low = { ...chattyFinding, id: 'low', severity: 'low' as const, score: 10 };
    const groups = groupFindings([low, ...findings], {});
    expect(groups.map((g) => g.kind)).toEqual(['bottleneck', 'chatty', 'oversized_payload']);
    expect(groups[1].findings.map((f) => f.id)).toEqual([chattyFinding.id, 'low']);
    expect(groups[1].counts).toEqual({ medium: 1, low: 1 });
  });

  it('filters by kind, minimum severity and service (caller or peer)', () => {
    expect(groupFindings(findings, { kind: 'chatty' }).map((g) => g.kind)).toEqual(['chatty']);
    expect(groupFindings(findings, { severity: 'high' }).flatMap((g) => g.findings)).toEqual([bottleneckFinding]);
    expect(groupFindings(findings, { service: 'INVENTORY' }).flatMap((g) => g.findings)).toEqual([chattyFinding]);
  });
});

describe('FindingsPage', () => {
  it('lists findings by kind with explanations and links', async () => {
    mockApi({ '/api/v1/findings': { body: { findings } } });
    renderAt(<FindingsPage />, { route: '/findings' });
    const chatty = await screen.findByTestId('group-chatty');
    expect(within(chatty).getByRole('heading', { level: 2 })).toHaveTextContent('Chatty calls (1)');
    const card = within(chatty).getByTestId('finding-card');
    expect(card).toHaveTextContent('N+1: orders-service calls inventory-service 10× per request');
    expect(card).toHaveTextContent('What we saw');
    expect(card).toHaveTextContent('What to do');
    expect(within(card).getByRole('link', { name: 'Show on map' })).toHaveAttribute('href', '/?src=orders-service&dst=inventory-service');
    expect(within(card).getByRole('link', { name: 'cd241f42' })).toHaveAttribute('href', '/traces/cd241f429f0e0a3fcbdd2fe302593a9a');
    expect(screen.getAllByTestId('finding-card')).toHaveLength(3);
    expect(screen.getByTestId('group-oversized_payload')).toHaveTextContent('5 MiB');
  });

  it('filters through the URL', async () => {
    mockApi({ '/api/v1/findings': { body: { findings } } });
    const { location } = renderAt(<FindingsPage />, { route: '/findings?range=6h' });
    await screen.findByTestId('group-chatty');
    await userEvent.click(screen.getByRole('button', { name: 'Oversized payload' }));
    expect(location()).toBe('/findings?range=6h&kind=oversized_payload');
    expect(screen.getAllByTestId('finding-card')).toHaveLength(1);
    expect(screen.queryByTestId('group-chatty')).toBeNull();
    await userEvent.selectOptions(screen.getByLabelText('Minimum severity'), 'high');
    expect(await screen.findByText('No findings match the filters')).toBeInTheDocument();
  });

  it('asks for the window from the URL', async () => {
    const { calls } = mockApi({ '/api/v1/findings': { body: { findings: [] } } });
    renderAt(<FindingsPage />, { route: '/findings?from=1000&to=2000' });
    await screen.findByText('No findings in this window');
    expect(Object.fromEntries(calls[0].searchParams)).toEqual({ from: '1000', to: '2000', limit: '1000' });
  });

  it('highlights the finding named in the URL', async () => {
    mockApi({ '/api/v1/findings': { body: { findings } } });
    renderAt(<FindingsPage />, { route: `/findings?id=${chattyFinding.id}` });
    await waitFor(() => expect(document.querySelector(`[data-finding-id="${chattyFinding.id}"]`)).toHaveClass('highlight'));
  });

  it('shows API errors', async () => {
    mockApi({ '/api/v1/findings': { status: 500, body: { error: 'ClickHouse: connection refused', error_type: 'internal' } } });
    renderAt(<FindingsPage />, { route: '/findings' });
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('ClickHouse: connection refused');
  });
});
