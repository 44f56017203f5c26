// Data shaping of the alerts page (docs/alerts.md): rules in plain words,
// an alert's labels as chips, its links into the other views, and the
// facts its annotations carry.
import type { Alert, AlertRule, AlertState, FindingKind, MetricOp, NodeKind } from '../api/types';
import { getUrl as findingsUrl } from '../pages/FindingsPage/url';
import { getUrl as mapUrl } from '../pages/MapPage/url';
import { getUrl as servicesUrl } from '../pages/ServicesPage/url';
import { getUrl as traceUrl } from '../pages/TracePage/url';
import { formatAgo, formatBytes, formatCount, formatMs, formatPercent } from './format';

// ---------------------------------------------------------------- durations

const GO_UNITS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };

/** Parses a Go duration as the API writes it ("2m0s", "1h0m0s", "1.5s", "500ms", "0s") into ms; null if it is not one. */
export function parseGoDuration(v: string | undefined | null): number | null {
  if (!v) return null;
  const s = v.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * GO_UNITS[m[2]];
    pos = re.lastIndex;
  }
  return pos === s.length && pos > 0 ? total : null;
}

/** A duration for people: "30 s", "10 min", "1 h 30 min", "2 d". */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms === 0) return '0 s';
  if (ms < 1000) return formatMs(ms);
  if (ms < 60_000) {
    const s = ms / 1000;
    return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
  }
  if (ms < 3_600_000) {
    const min = Math.floor(ms / 60_000);
    const s = Math.round((ms - min * 60_000) / 1000);
    return s ? `${min} min ${s} s` : `${min} min`;
  }
  if (ms < 86_400_000) {
    const h = Math.floor(ms / 3_600_000);
    const min = Math.round((ms - h * 3_600_000) / 60_000);
    return min ? `${h} h ${min} min` : `${h} h`;
  }
  const d = Math.floor(ms / 86_400_000);
  const h = Math.round((ms - d * 86_400_000) / 3_600_000);
  return h ? `${d} d ${h} h` : `${d} d`;
}

/** A Go duration for people; what the API said when it cannot be read. */
export function humanGoDuration(v: string): string {
  const ms = parseGoDuration(v);
  return ms === null ? v : humanDuration(ms);
}

// ---------------------------------------------------------------- rules in plain words

const FINDING_NOUN: Record<FindingKind, string> = {
  bottleneck: 'A bottleneck',
  chatty: 'A chatty-calls finding (N+1 or call storm)',
  oversized_payload: 'An oversized-payload finding',
};

const METRIC_NOUN: Record<string, string> = {
  p50_ms: 'p50 latency',
  p95_ms: 'p95 latency',
  p99_ms: 'p99 latency',
  error_rate: 'Error rate',
  calls_per_trace: 'Calls per request',
  request_bytes: 'Average request size',
  response_bytes: 'Average response size',
};

const OP_WORDS: Record<MetricOp, string> = { '>': 'above', '>=': 'at or above', '<': 'below', '<=': 'at or below' };

const isGlob = (s: string) => /[*?[]/.test(s);

/** The metric's name for people ("p99 latency", "Error rate"). */
export function metricName(name: string): string {
  return METRIC_NOUN[name] ?? name;
}

/** A metric value in its unit: latencies in ms/s, error rate in %, sizes in bytes. */
export function formatMetricValue(name: string, v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (name.endsWith('_ms')) return formatMs(v);
  if (name === 'error_rate') return formatPercent(v, 2);
  if (name.endsWith('_bytes')) return formatBytes(v);
  return formatCount(Math.round(v * 100) / 100);
}

function serviceWords(service: string, any: string, plural: string): string {
  if (!service) return any;
  return isGlob(service) ? `${plural} matching ${service}` : service;
}

/** A rule's condition in one sentence, from its structured fields; the server's sentence when there are none. */
export function ruleInWords(rule: AlertRule): string {
  const f = rule.finding;
  if (rule.type === 'finding' && f) {
    const what = f.kind ? (FINDING_NOUN[f.kind] ?? `A ${f.kind} finding`) : 'Any finding';
    const sev =
      !f.min_severity || f.min_severity === 'low'
        ? 'of any severity'
        : f.min_severity === 'critical'
          ? 'of critical severity'
          : `of ${f.min_severity} severity or worse`;
    const where = f.service ? `in ${serviceWords(f.service, '', 'services')}` : 'in any service';
    const win = parseGoDuration(f.window);
    return `${what} ${sev} ${where}, seen within the last ${win === null ? f.window : humanDuration(win)}`;
  }
  const m = rule.metric;
  if (rule.type === 'metric' && m) {
    const edge = m.scope === 'edge';
    const subject = edge
      ? `calls from ${serviceWords(m.service, 'any service', 'services')} to ${serviceWords(m.peer, 'any peer', 'peers')}`
      : `requests of ${serviceWords(m.service, 'any service', 'services')}`;
    const op = OP_WORDS[m.op] ?? m.op;
    const look = parseGoDuration(m.lookback);
    let s = `${metricName(m.name)} of ${subject} ${op} ${formatMetricValue(m.name, m.threshold)} over the last ${
      look === null ? m.lookback : humanDuration(look)
    }`;
    if (m.min_count > 1) s += `, with at least ${formatCount(m.min_count)} ${edge ? 'calls' : 'requests'}`;
    return s;
  }
  return rule.condition;
}

// ---------------------------------------------------------------- labels as chips

export interface LabelChip {
  name: string;
  value: string;
  /** "name=value": the text shown and the API's label matcher. */
  matcher: string;
}

/** Labels shown elsewhere on an alert: the name is its title and the severity its badge. */
export const LABELS_NOT_CHIPS = ['alertname', 'severity'];

const LABEL_ORDER = ['kind', 'scope', 'metric', 'service', 'operation', 'peer', 'peer_kind'];

/** An alert's labels as chips: the well-known ones first, then the rule's own by name; empty values dropped. */
export function labelChips(labels: Record<string, string>, omit: string[] = LABELS_NOT_CHIPS): LabelChip[] {
  const rank = (k: string) => {
    const i = LABEL_ORDER.indexOf(k);
    return i < 0 ? LABEL_ORDER.length : i;
  };
  return Object.entries(labels)
    .filter(([k, v]) => v !== '' && !omit.includes(k))
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([name, value]) => ({ name, value, matcher: `${name}=${value}` }));
}

const MATCHER_RE = /^[a-zA-Z_][a-zA-Z0-9_]*=/;

/** Whether a string is a label matcher the API takes ("name=value"). */
export function isLabelMatcher(s: string): boolean {
  return MATCHER_RE.test(s);
}

// ---------------------------------------------------------------- alert state, links, facts

/** When the alert entered its current state: fired (firing), became active (pending), resolved. */
export function alertSince(a: Alert): string {
  if (a.state === 'resolved') return a.resolved_at ?? a.evaluated_at;
  if (a.state === 'firing') return a.fired_at ?? a.active_at;
  return a.active_at;
}

export type AlertsShow = 'active' | AlertState | 'all';

/** Keeps the alerts of one "show" choice: active = firing and pending. */
export function filterAlerts(alerts: Alert[], show: AlertsShow): Alert[] {
  if (show === 'all') return alerts;
  if (show === 'active') return alerts.filter((a) => a.state === 'firing' || a.state === 'pending');
  return alerts.filter((a) => a.state === show);
}

export function countByState(alerts: Alert[]): Record<AlertState, number> {
  const out: Record<AlertState, number> = { firing: 0, pending: 0, resolved: 0 };
  for (const a of alerts) if (a.state in out) out[a.state]++;
  return out;
}

const VIRTUAL_KINDS: NodeKind[] = ['database', 'messaging', 'external'];

/** The map's node id of an alert's peer: "database:postgresql/shop" for a virtual node, the name for a service. */
export function peerNodeId(peer: string, peerKind: string | undefined): string {
  return peerKind && (VIRTUAL_KINDS as string[]).includes(peerKind) ? `${peerKind}:${peer}` : peer;
}

export interface AlertLink {
  key: 'service' | 'edge' | 'metrics' | 'finding' | 'trace' | 'runbook';
  label: string;
  href: string;
  /** Outside the UI (a runbook): a plain link opening a new tab. */
  external?: boolean;
}

const TRACE_ID_RE = /^[0-9a-fA-F]{32}$/;
const FINDING_KINDS = ['bottleneck', 'chatty', 'oversized_payload'];

/** The example trace an annotation or label carries, if any. */
export function exampleTraceId(a: Alert): string | undefined {
  for (const k of ['example_trace_id', 'trace_id']) {
    for (const src of [a.annotations, a.labels]) {
      const v = src[k]?.trim();
      if (v && TRACE_ID_RE.test(v)) return v.toLowerCase();
    }
  }
  return undefined;
}

/** Links of an alert into the UI: its service (and edge) on the map, its finding, an example trace, a runbook. */
export function alertLinks(a: Alert): AlertLink[] {
  const { labels: l, annotations: an } = a;
  const out: AlertLink[] = [];
  if (l.service) {
    out.push({ key: 'service', label: `${l.service} on the map`, href: mapUrl({ node: l.service }) });
    if (l.peer) {
      const peerKind = l.peer_kind || an.peer_kind;
      out.push({ key: 'edge', label: `${l.service} → ${l.peer} on the map`, href: mapUrl({ edge: [l.service, peerNodeId(l.peer, peerKind)] }) });
    }
    if (l.kind === 'metric' && l.scope === 'service') {
      out.push({ key: 'metrics', label: `${l.service} metrics`, href: servicesUrl({ q: l.service }) });
    }
  }
  const kind = FINDING_KINDS.includes(l.kind) ? (l.kind as FindingKind) : undefined;
  if (an.finding_id) {
    out.push({ key: 'finding', label: 'Finding', href: findingsUrl({ kind, id: an.finding_id }) });
  } else if (kind) {
    out.push({ key: 'finding', label: 'Findings', href: findingsUrl({ kind, service: l.service }) });
  }
  const trace = exampleTraceId(a);
  if (trace) out.push({ key: 'trace', label: 'Example trace', href: traceUrl(trace) });
  const runbook = an.runbook_url?.trim();
  if (runbook && /^https?:\/\//i.test(runbook)) out.push({ key: 'runbook', label: 'Runbook', href: runbook, external: true });
  return out;
}

/** Annotations shown in their own place (text, links), not among the facts. */
const SHOWN_ANNOTATIONS = new Set([
  'summary',
  'description',
  'finding_id',
  'example_trace_id',
  'trace_id',
  'runbook_url',
  'peer_kind',
  'score',
  'occurrences',
  'last_seen',
  'value',
  'threshold',
]);

export interface AlertFact {
  label: string;
  value: string;
  title?: string;
}

/** The numbers behind an alert (score and occurrences of a finding, value and threshold of a metric) and the rule's other annotations. */
export function alertFacts(a: Alert, now: number = Date.now()): AlertFact[] {
  const { labels: l, annotations: an } = a;
  const out: AlertFact[] = [];
  if (l.kind === 'metric' && l.metric) {
    out.push({ label: 'Value', value: formatMetricValue(l.metric, a.value) });
    const th = Number(an.threshold);
    if (an.threshold && Number.isFinite(th)) out.push({ label: 'Threshold', value: formatMetricValue(l.metric, th) });
  } else {
    if (an.score) out.push({ label: 'Score', value: an.score });
    const n = Number(an.occurrences);
    if (an.occurrences && Number.isFinite(n)) out.push({ label: 'Occurrences', value: `${n} trace${n === 1 ? '' : 's'}` });
    if (an.last_seen) out.push({ label: 'Last seen', value: formatAgo(an.last_seen, now), title: an.last_seen });
  }
  for (const k of Object.keys(an).sort()) {
    if (!SHOWN_ANNOTATIONS.has(k) && an[k] !== '') out.push({ label: k, value: an[k] });
  }
  return out;
}
