import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bottleneckFinding, chattyFinding, graph, services } from '../../test/fixtures';
import { mockApi, renderAt } from '../../test/render';
import type { ServiceGraphProps } from './ServiceGraph';

// The canvas is Cytoscape's (tested in the browser end-to-end); here a
// stand-in lists the elements it was given and reports taps.
vi.mock('./ServiceGraph', () => ({
  ServiceGraph: (p: ServiceGraphProps) => (
    <ul data-testid="fake-graph">
      {p.elements.map((e) => (
        <li key={e.data.id}>
          <button type="button" data-classes={e.classes} onClick={() => p.onSelect(e.group === 'nodes' ? { node: e.data.id } : { edge: e.data.id })}>
            {e.group === 'nodes' ? e.data.label : `${e.data.source} -> ${e.data.target}`}
          </button>
        </li>
      ))}
    </ul>
  ),
}));

const { MapPage } = await import('./MapPage');

afterEach(() => vi.unstubAllGlobals());

function api(extra = {}) {
  return mockApi({
    '/api/v1/servicegraph': { body: graph },
    '/api/v1/services': { body: { services } },
    '/api/v1/findings': { body: { findings: [chattyFinding, bottleneckFinding] } },
    ...extra,
  });
}

describe('MapPage', () => {
  it('draws every node and edge and highlights findings', async () => {
    api();
    renderAt(<MapPage />, { route: '/' });
    const g = await screen.findByTestId('fake-graph');
    expect(within(g).getAllByRole('button')).toHaveLength(14);
    expect(within(g).getByRole('button', { name: 'orders-service -> inventory-service' })).toHaveAttribute(
      'data-classes',
      'level-0 has-finding sev-medium',
    );
    const overview = screen.getByTestId('map-overview');
    expect(overview).toHaveTextContent('Services4');
    expect(overview).toHaveTextContent('Findings2');
  });

  it('shows an edge’s metrics and findings when clicked, with the selection in the URL', async () => {
    api();
    const { location } = renderAt(<MapPage />, { route: '/?range=6h' });
    await userEvent.click(await screen.findByRole('button', { name: 'orders-service -> inventory-service' }));
    expect(location()).toBe('/?range=6h&src=orders-service&dst=inventory-service');
    const details = screen.getByTestId('edge-details');
    expect(details).toHaveTextContent('orders-service → inventory-service');
    expect(details).toHaveTextContent('Calls1.1k');
    expect(details).toHaveTextContent('Calls / trace10');
    const brief = within(details).getByTestId('finding-brief');
    expect(brief).toHaveTextContent('N+1');
    expect(within(brief).getByRole('link', { name: 'Example trace 1' })).toHaveAttribute('href', `/traces/${chattyFinding.example_trace_ids[0]}`);
    expect(within(brief).getByRole('link', { name: 'Explain →' })).toHaveAttribute('href', `/findings?range=6h&id=${chattyFinding.id}`);
  });

  it('shows a node’s RED metrics and its neighbourhood', async () => {
    api();
    const { location } = renderAt(<MapPage />, { route: '/?node=payments-service' });
    const details = await screen.findByTestId('node-details');
    expect(details).toHaveTextContent('Requests50');
    expect(details).toHaveTextContent('Error rate10%');
    expect(details).toHaveTextContent('p95639 ms');
    expect(details).toHaveTextContent('Bottleneck');
    await userEvent.click(within(details).getByRole('button', { name: 'Show neighbourhood' }));
    expect(location()).toBe('/?node=payments-service&focus=payments-service');
    expect(within(screen.getByTestId('fake-graph')).getAllByRole('button').map((b) => b.textContent)).not.toContain('inventory-service');
    expect(screen.getByTestId('focus-chip')).toHaveTextContent('Neighbourhood of payments-service');
  });

  it('finds a node with the search box and the keyboard', async () => {
    api();
    const { location } = renderAt(<MapPage />, { route: '/' });
    await screen.findByTestId('fake-graph');
    await userEvent.type(screen.getByRole('combobox', { name: 'Find a service or node' }), 'shop{Enter}');
    expect(location()).toBe('/?node=database%3Apostgresql%2Fshop');
    expect(screen.getByTestId('node-details')).toHaveTextContent('Calls received');
  });

  it('hides node kinds from the URL', async () => {
    api();
    const { location } = renderAt(<MapPage />, { route: '/' });
    await screen.findByTestId('fake-graph');
    await userEvent.click(screen.getByRole('checkbox', { name: 'Databases' }));
    expect(location()).toBe('/?hide=database');
    expect(within(screen.getByTestId('fake-graph')).queryByRole('button', { name: 'postgresql/shop' })).toBeNull();
  });

  it('shows API errors and the empty state', async () => {
    api({ '/api/v1/servicegraph': { status: 503, body: { error: 'query ran past 30s', error_type: 'timeout' } } });
    renderAt(<MapPage />, { route: '/' });
    expect(await screen.findByRole('alert')).toHaveTextContent('query ran past 30s');
  });

  it('explains an empty map', async () => {
    api({ '/api/v1/servicegraph': { body: { nodes: [], edges: [] } } });
    renderAt(<MapPage />, { route: '/' });
    expect(await screen.findByText('No services in this window yet')).toBeInTheDocument();
  });
});
