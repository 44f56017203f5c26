// TanStack Query hooks over the API client. Query keys hold the time window
// as the URL states it (timeRangeKey): a relative window ("1h") keeps its
// key while the clock moves, so a refetch (Refresh, or the polling of an
// empty map) asks for the latest hour rather than a frozen one, and the
// cache is shared by every view that shows the same window.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import type { DeliveryOutcome, FindingKind } from '../api/types';
import { type TimeRange, resolveWindow, timeRangeKey } from '../utils/timeRange';

export const FINDINGS_LIMIT = 1000;

export function useServices(tr: TimeRange) {
  return useQuery({
    queryKey: ['services', timeRangeKey(tr)],
    queryFn: ({ signal }) => api.services(resolveWindow(tr), signal),
    placeholderData: keepPreviousData,
  });
}

export function useServiceGraph(tr: TimeRange, opts: { pollWhileEmpty?: boolean } = {}) {
  return useQuery({
    queryKey: ['servicegraph', timeRangeKey(tr)],
    queryFn: ({ signal }) => api.serviceGraph(resolveWindow(tr), signal),
    placeholderData: keepPreviousData,
    // A fresh server has no edges until its first traces are analysed.
    refetchInterval: (q) =>
      opts.pollWhileEmpty && q.state.data && q.state.data.edges.length === 0 ? 5000 : false,
  });
}

export function useFindings(tr: TimeRange, kind?: FindingKind) {
  return useQuery({
    queryKey: ['findings', timeRangeKey(tr), kind ?? ''],
    queryFn: ({ signal }) => api.findings({ ...resolveWindow(tr), kind, limit: FINDINGS_LIMIT }, signal),
    placeholderData: keepPreviousData,
  });
}

export interface TraceSearch {
  service?: string;
  operation?: string;
  minDurationMs?: number;
  limit?: number;
}

export function useTraceSearch(tr: TimeRange, q: TraceSearch, enabled = true) {
  return useQuery({
    queryKey: ['traces', timeRangeKey(tr), q.service ?? '', q.operation ?? '', q.minDurationMs ?? 0, q.limit ?? 0],
    queryFn: ({ signal }) =>
      api.traces(
        {
          ...resolveWindow(tr),
          service: q.service,
          operation: q.operation,
          min_duration_ms: q.minDurationMs,
          limit: q.limit,
        },
        signal,
      ),
    enabled,
  });
}

export function useTrace(traceId: string) {
  return useQuery({
    queryKey: ['trace', traceId.toLowerCase()],
    queryFn: ({ signal }) => api.trace(traceId, signal),
    // A trace only grows while late spans arrive; keep it a minute.
    staleTime: 60_000,
  });
}

/** Alerts change at every evaluation (15 s by default): poll while the page is open. */
export const ALERTS_POLL_MS = 15_000;

/**
 * Every firing and pending alert and those resolved in the last hour
 * (state=all, no since), filtered by label matchers ("name=value").
 */
export function useAlerts(labels: string[] = []) {
  return useQuery({
    queryKey: ['alerts', 'all', ...labels],
    queryFn: ({ signal }) => api.alerts({ state: 'all', labels }, signal),
    placeholderData: keepPreviousData,
    refetchInterval: ALERTS_POLL_MS,
  });
}

/** The configured rules: fixed while the server runs. */
export function useAlertRules() {
  return useQuery({
    queryKey: ['alert-rules'],
    queryFn: ({ signal }) => api.alertRules(signal),
    staleTime: 5 * 60_000,
  });
}

export function useAlertDeliveries(tr: TimeRange, q: { receiver?: string; outcome?: DeliveryOutcome } = {}) {
  return useQuery({
    queryKey: ['alert-deliveries', timeRangeKey(tr), q.receiver ?? '', q.outcome ?? ''],
    queryFn: ({ signal }) =>
      api.alertDeliveries({ ...resolveWindow(tr), receiver: q.receiver, outcome: q.outcome, limit: 500 }, signal),
    placeholderData: keepPreviousData,
    refetchInterval: ALERTS_POLL_MS,
  });
}
