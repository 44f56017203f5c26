// A small typed client of the JSON API (docs/api.md). Every failure is an
// ApiError carrying the server's {error, error_type} envelope, so pages can
// show the server's own message instead of a blank screen.
import type {
  AlertDeliveriesResponse,
  AlertRulesResponse,
  AlertsQuery,
  AlertsResponse,
  ApiErrorBody,
  ApiErrorType,
  DeliveriesQuery,
  FindingsQuery,
  FindingsResponse,
  ServiceGraphResponse,
  ServicesResponse,
  TimeWindow,
  TraceQuery,
  TraceResponse,
  TracesResponse,
} from './types';

export const API_BASE = '/api/v1';

export class ApiError extends Error {
  readonly status: number;
  readonly errorType: ApiErrorType;
  constructor(status: number, errorType: ApiErrorType, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.errorType = errorType;
  }
}

type Params = Record<string, string | number | undefined | null | string[]>;

/** Builds a query string, leaving out empty values; an array repeats its parameter. */
export function toQueryString(params: Params): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== '') sp.append(k, x);
      continue;
    }
    sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : '';
}

function isErrorBody(v: unknown): v is ApiErrorBody {
  return typeof v === 'object' && v !== null && typeof (v as ApiErrorBody).error === 'string';
}

export async function getJSON<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  const url = `${API_BASE}${path}${toQueryString(params)}`;
  let res: Response;
  try {
    res = await fetch(url, { signal, headers: { Accept: 'application/json' } });
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', `Cannot reach the tracehound server (${(err as Error)?.message ?? err}).`);
  }
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // fall through: reported below
  }
  if (!res.ok) {
    if (isErrorBody(body)) {
      throw new ApiError(res.status, (body.error_type || 'internal') as ApiErrorType, body.error);
    }
    const snippet = text.trim().slice(0, 200);
    throw new ApiError(res.status, 'bad_response', `HTTP ${res.status} from ${url}${snippet ? `: ${snippet}` : ''}`);
  }
  if (body === undefined) {
    throw new ApiError(res.status, 'bad_response', `The server answered ${url} without JSON.`);
  }
  return body as T;
}

function window(w: TimeWindow): Params {
  return { from: w.from, to: w.to };
}

export const api = {
  traces: (q: TraceQuery, signal?: AbortSignal) =>
    getJSON<TracesResponse>(
      '/traces',
      {
        ...window(q),
        service: q.service,
        operation: q.operation,
        min_duration_ms: q.min_duration_ms,
        limit: q.limit,
      },
      signal,
    ),
  trace: (traceId: string, signal?: AbortSignal) =>
    getJSON<TraceResponse>(`/traces/${encodeURIComponent(traceId)}`, {}, signal),
  services: (w: TimeWindow, signal?: AbortSignal) => getJSON<ServicesResponse>('/services', window(w), signal),
  serviceGraph: (w: TimeWindow, signal?: AbortSignal) =>
    getJSON<ServiceGraphResponse>('/servicegraph', window(w), signal),
  findings: (q: FindingsQuery, signal?: AbortSignal) =>
    getJSON<FindingsResponse>(
      '/findings',
      { ...window(q), kind: q.kind, service: q.service, limit: q.limit },
      signal,
    ),
  alerts: (q: AlertsQuery, signal?: AbortSignal) =>
    getJSON<AlertsResponse>('/alerts', { state: q.state, since: q.since, to: q.to, label: q.labels }, signal),
  alertRules: (signal?: AbortSignal) => getJSON<AlertRulesResponse>('/alerts/rules', {}, signal),
  alertDeliveries: (q: DeliveriesQuery, signal?: AbortSignal) =>
    getJSON<AlertDeliveriesResponse>(
      '/alerts/deliveries',
      { ...window(q), receiver: q.receiver, outcome: q.outcome, limit: q.limit },
      signal,
    ),
};
