// Test helpers: render a view inside the router and a fresh query client,
// with fetch answered from a table of API responses.
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import { vi } from 'vitest';

/** Shows the current location so tests can assert on URL state. */
function LocationProbe() {
  const loc = useLocation();
  return <div data-testid="location">{`${loc.pathname}${loc.search}`}</div>;
}

export function renderAt(ui: ReactElement, { route = '/', path = '*' }: { route?: string; path?: string } = {}) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
  const result = render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[route]}>
        <Routes>
          <Route path={path} element={ui} />
        </Routes>
        <LocationProbe />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return { ...result, client, location: () => result.getByTestId('location').textContent ?? '' };
}

export type Reply = { status?: number; body: unknown } | ((url: URL) => { status?: number; body: unknown });

/**
 * Stubs fetch: the first route whose key is a prefix of the request path
 * (e.g. "/api/v1/findings") answers. Unknown paths get the API's 404.
 */
export function mockApi(routes: Record<string, Reply>) {
  const calls: URL[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL) => {
    const url = new URL(String(input), 'http://localhost');
    calls.push(url);
    const key = Object.keys(routes)
      .filter((k) => url.pathname === k || url.pathname.startsWith(`${k}/`))
      .sort((a, b) => b.length - a.length)[0];
    const r = key ? routes[key] : { status: 404, body: { error: `no such API endpoint: GET ${url.pathname}`, error_type: 'not_found' } };
    const { status = 200, body } = typeof r === 'function' ? r(url) : r;
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
      status,
      headers: { 'Content-Type': 'application/json' },
    });
  });
  vi.stubGlobal('fetch', fn);
  return { fn, calls };
}
