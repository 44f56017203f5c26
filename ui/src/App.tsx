// Routes. History routing: the Go server answers every non-API path with
// index.html (web/ui.go), so deep links and reloads work.
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { Component, type ReactNode, useState } from 'react';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { AppShell } from './components/AppShell';
import { Empty } from './components/StateViews';
import { AlertsPage } from './pages/AlertsPage/AlertsPage';
import { FindingsPage } from './pages/FindingsPage/FindingsPage';
import { MapPage } from './pages/MapPage/MapPage';
import { ServicesPage } from './pages/ServicesPage/ServicesPage';
import { TracePage } from './pages/TracePage/TracePage';
import { TracesPage } from './pages/TracesPage/TracesPage';
import { createQueryClient } from './query/queryClient';

export function AppRoutes() {
  return (
    <Routes>
      <Route element={<AppShell />}>
        <Route index element={<Guard><MapPage /></Guard>} />
        <Route path="map" element={<RedirectToMap />} />
        <Route path="services" element={<Guard><ServicesPage /></Guard>} />
        <Route path="traces" element={<Guard><TracesPage /></Guard>} />
        <Route path="traces/:traceId" element={<Guard><TracePage /></Guard>} />
        <Route path="findings" element={<Guard><FindingsPage /></Guard>} />
        <Route path="alerts" element={<Guard><AlertsPage /></Guard>} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

function RedirectToMap() {
  const { search } = useLocation();
  return <Navigate to={`/${search}`} replace />;
}

function NotFound() {
  const { pathname } = useLocation();
  return (
    <div className="page">
      <Empty title="No such page">
        Nothing lives at <code>{pathname}</code>. <Link to="/">Go to the service map</Link>.
      </Empty>
    </div>
  );
}

/** Keeps a rendering bug in one view from blanking the whole app. */
class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, { error: Error | null; key: string }> {
  state = { error: null as Error | null, key: this.props.resetKey };
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  static getDerivedStateFromProps(props: { resetKey: string }, state: { error: Error | null; key: string }) {
    return props.resetKey !== state.key ? { error: null, key: props.resetKey } : null;
  }
  render() {
    if (this.state.error) {
      return (
        <div className="state error" role="alert">
          <h2>This view failed to render</h2>
          <div className="detail">{this.state.error.message}</div>
          <button type="button" className="btn" onClick={() => this.setState({ error: null })}>
            Try again
          </button>
        </div>
      );
    }
    return this.props.children;
  }
}

function Guard({ children }: { children: ReactNode }) {
  const { pathname } = useLocation();
  return <ErrorBoundary resetKey={pathname}>{children}</ErrorBoundary>;
}

export function App({ client }: { client?: QueryClient }) {
  const [qc] = useState(() => client ?? createQueryClient());
  return (
    <QueryClientProvider client={qc}>
      <AppRoutes />
    </QueryClientProvider>
  );
}
