import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Span } from '../../api/types';
import { smallTrace, span } from '../../test/fixtures';
import { mockApi, renderAt } from '../../test/render';
import { buildTraceModel } from '../../utils/waterfall';
import { TracePage } from './TracePage';
import { Waterfall } from './Waterfall';

afterEach(() => vi.unstubAllGlobals());

// jsdom does no layout; give the waterfall's scroll area a viewport so the
// virtualiser has rows to show (react-virtual reads clientWidth/Height).
const sizes = { clientHeight: 700, clientWidth: 1200 };
const saved = Object.keys(sizes).map((k) => [k, Object.getOwnPropertyDescriptor(HTMLElement.prototype, k)] as const);
beforeAll(() => {
  for (const [k, v] of Object.entries(sizes)) {
    Object.defineProperty(HTMLElement.prototype, k, {
      configurable: true,
      get(this: HTMLElement) {
        return this.classList.contains('wf-scroll') ? v : 0;
      },
    });
  }
});
afterAll(() => {
  for (const [k, d] of saved) if (d) Object.defineProperty(HTMLElement.prototype, k, d);
});

const ROUTE = '/traces/:traceId';
const URL0 = `/traces/${smallTrace.trace_id}`;

describe('TracePage', () => {
  it('draws the waterfall with the critical path, self time and a summary', async () => {
    mockApi({ '/api/v1/traces': { body: smallTrace } });
    renderAt(<TracePage />, { route: URL0, path: ROUTE });
    await screen.findByTestId('waterfall');
    const rows = screen.getAllByRole('treeitem');
    expect(rows.map((r) => r.getAttribute('data-span-id'))).toEqual(['root', 'a', 'a1', 'b', 'c']);
    expect(rows.map((r) => r.getAttribute('data-critical'))).toEqual(['true', 'true', 'true', 'false', 'true']);
    // root: 3 critical segments (before a, between a and c, after c)
    expect(rows[0].querySelectorAll('.wf-cp')).toHaveLength(3);
    expect(rows[3].querySelectorAll('.wf-cp')).toHaveLength(0);
    expect(rows[0]).toHaveTextContent('100 ms · self 30 ms');
    expect(rows[4]).toHaveTextContent('!'); // error
    const summary = screen.getByTestId('trace-summary');
    expect(summary).toHaveTextContent('Spans5');
    expect(summary).toHaveTextContent('Services4');
    expect(summary).toHaveTextContent('Critical path4 spans · 100 ms (100%)');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('checkout: GET /cart');
  });

  it('selects a span (in the URL) and shows attributes, events and links', async () => {
    mockApi({ '/api/v1/traces': { body: smallTrace } });
    const { location } = renderAt(<TracePage />, { route: URL0, path: ROUTE });
    await screen.findByTestId('waterfall');
    await userEvent.click(screen.getByText('op-a1'));
    expect(location()).toBe(`${URL0}?span=a1`);
    const details = screen.getByTestId('span-details');
    expect(details).toHaveTextContent('inventory');
    expect(details).toHaveTextContent('critical path');
    expect(within(details).getByRole('table', { name: 'Attributes' })).toHaveTextContent('http.route/items/{id}');
    expect(details).toHaveTextContent('http.response.status_code200');
    expect(details).toHaveTextContent('retriedfalse');
    expect(details).toHaveTextContent('cache miss');
    expect(details).toHaveTextContent('+1 ms into the span');
    expect(within(details).getByRole('link', { name: /0123456789ab/ })).toHaveAttribute(
      'href',
      '/traces/0123456789abcdef0123456789abcdef?span=0011223344556677',
    );
    expect(within(details).getByRole('table', { name: 'Resource attributes' })).toHaveTextContent('host.nameinv-1');
    // Parent navigation
    await userEvent.click(within(details).getByRole('button', { name: /orders · op-a/ }));
    expect(location()).toBe(`${URL0}?span=a`);
  });

  it('collapses subtrees, filters to the critical path and moves with the keyboard', async () => {
    mockApi({ '/api/v1/traces': { body: smallTrace } });
    const { location } = renderAt(<TracePage />, { route: `${URL0}?span=a`, path: ROUTE });
    await screen.findByTestId('span-details');
    await userEvent.click(screen.getByRole('button', { name: 'Collapse 1 children' }));
    expect(screen.getAllByRole('treeitem').map((r) => r.getAttribute('data-span-id'))).toEqual(['root', 'a', 'b', 'c']);
    const tree = screen.getByRole('tree');
    fireEvent.keyDown(tree, { key: 'ArrowRight' }); // expand the selected span again
    expect(screen.getAllByRole('treeitem')).toHaveLength(5);
    fireEvent.keyDown(tree, { key: 'ArrowDown' });
    expect(location()).toBe(`${URL0}?span=a1`);
    await userEvent.click(screen.getByRole('button', { name: 'Critical path only' }));
    expect(location()).toBe(`${URL0}?span=a1&cp=1`);
    expect(screen.getAllByRole('treeitem').map((r) => r.getAttribute('data-span-id'))).toEqual(['root', 'a', 'a1', 'c']);
  });

  it('finds spans', async () => {
    mockApi({ '/api/v1/traces': { body: smallTrace } });
    const { location } = renderAt(<TracePage />, { route: URL0, path: ROUTE });
    await screen.findByTestId('waterfall');
    await userEvent.type(screen.getByLabelText('Find spans'), 'payments');
    await waitFor(() => expect(location()).toBe(`${URL0}?find=payments`));
    expect(screen.getByRole('status')).toHaveTextContent('1 match');
    expect(document.querySelectorAll('.wf-row.match')).toHaveLength(1);
  });

  it('shows the API error for a bad or unknown id', async () => {
    mockApi({ '/api/v1/traces': { status: 404, body: { error: 'trace not found', error_type: 'not_found' } } });
    renderAt(<TracePage />, { route: URL0, path: ROUTE });
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Not found');
    expect(alert).toHaveTextContent('trace not found');
  });
});

describe('Waterfall', () => {
  it('keeps a 20,000-span trace to the rows in view', () => {
    const spans: Span[] = [span('root', '', 0, 1000, { on_critical_path: true })];
    for (let i = 1; i < 20_000; i++) spans.push(span(`s${i}`, 'root', i * 0.05, 0.04));
    const model = buildTraceModel({ trace_id: 't', spans });
    const onSelect = vi.fn();
    const t0 = performance.now();
    render(
      <Waterfall
        model={model}
        rows={model.order}
        selected={undefined}
        collapsed={new Set()}
        onSelect={onSelect}
        onToggle={() => {}}
      />,
    );
    const ms = performance.now() - t0;
    const rendered = screen.getAllByRole('treeitem');
    expect(rendered.length).toBeGreaterThan(20);
    expect(rendered.length).toBeLessThan(80);
    expect(screen.getByRole('tree')).toHaveAccessibleName('Spans (20000)');
    expect(ms).toBeLessThan(1500);
    fireEvent.keyDown(screen.getByRole('tree'), { key: 'End' });
    expect(onSelect).toHaveBeenCalledWith(model.order[19_999]);
  });
});
