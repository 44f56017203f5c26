import { describe, expect, it } from 'vitest';
import type { AlertRule } from '../api/types';
import { alerts, chattyAlert, chattyRule, errorRateRule, resolvedAlert, slowPaymentsAlert, slowPaymentsRule } from '../test/fixtures';
import {
  alertFacts,
  alertLinks,
  alertSince,
  countByState,
  exampleTraceId,
  filterAlerts,
  humanDuration,
  humanGoDuration,
  labelChips,
  parseGoDuration,
  peerNodeId,
  ruleInWords,
} from './alerts';

describe('Go durations', () => {
  it('parses what the API writes', () => {
    expect(parseGoDuration('0s')).toBe(0);
    expect(parseGoDuration('2m0s')).toBe(120_000);
    expect(parseGoDuration('1h30m0s')).toBe(5_400_000);
    expect(parseGoDuration('1.5s')).toBe(1500);
    expect(parseGoDuration('500ms')).toBe(500);
    expect(parseGoDuration('10m')).toBe(600_000);
    expect(parseGoDuration('fast')).toBeNull();
    expect(parseGoDuration('5x')).toBeNull();
    expect(parseGoDuration('')).toBeNull();
  });

  it('reads them out for people', () => {
    expect(humanDuration(30_000)).toBe('30 s');
    expect(humanDuration(600_000)).toBe('10 min');
    expect(humanDuration(90_000)).toBe('1 min 30 s');
    expect(humanDuration(5_400_000)).toBe('1 h 30 min');
    expect(humanDuration(2 * 86_400_000)).toBe('2 d');
    expect(humanGoDuration('10m0s')).toBe('10 min');
    expect(humanGoDuration('0s')).toBe('0 s');
    expect(humanGoDuration('weird')).toBe('weird');
  });
});

describe('ruleInWords', () => {
  it('says what a finding rule waits for', () => {
    expect(ruleInWords(chattyRule)).toBe('A chatty-calls finding (N+1 or call storm) of any severity in any service, seen within the last 10 min');
    const severe: AlertRule = {
      ...chattyRule,
      finding: { kind: '', min_severity: 'high', service: 'checkout-*', window: '15m0s' },
    };
    expect(ruleInWords(severe)).toBe('Any finding of high severity or worse in services matching checkout-*, seen within the last 15 min');
    const one: AlertRule = { ...chattyRule, finding: { kind: 'bottleneck', min_severity: 'critical', service: 'payments', window: '1h0m0s' } };
    expect(ruleInWords(one)).toBe('A bottleneck of critical severity in payments, seen within the last 1 h');
  });

  it('says what a metric rule compares, in the metric’s unit', () => {
    expect(ruleInWords(slowPaymentsRule)).toBe('p99 latency of calls from payments-service to any peer above 100 ms over the last 5 min');
    expect(ruleInWords(errorRateRule)).toBe(
      'Error rate of requests of services matching payments-* at or above 5% over the last 10 min, with at least 50 requests',
    );
    const sizes: AlertRule = {
      ...slowPaymentsRule,
      metric: { scope: 'edge', name: 'response_bytes', service: '', peer: 'postgresql/*', op: '<=', threshold: 1048576, lookback: '5m0s', min_count: 1 },
    };
    expect(ruleInWords(sizes)).toBe('Average response size of calls from any service to peers matching postgresql/* at or below 1 MiB over the last 5 min');
  });

  it('falls back to the server’s sentence', () => {
    expect(ruleInWords({ ...chattyRule, type: 'finding', finding: undefined })).toBe(chattyRule.condition);
  });
});

describe('labelChips', () => {
  it('orders the well-known labels first and leaves out the name and severity', () => {
    expect(labelChips(chattyAlert.labels).map((c) => c.matcher)).toEqual([
      'kind=chatty',
      'service=orders-service',
      'operation=GET /items/{id}',
      'peer=inventory-service',
      'team=shop',
    ]);
    expect(labelChips(slowPaymentsAlert.labels).map((c) => c.name)).toEqual(['kind', 'scope', 'metric', 'service', 'peer', 'peer_kind']);
  });

  it('drops empty values and sorts the rule’s own labels by name', () => {
    expect(labelChips({ zone: 'eu', alertname: 'x', app: '', team: 'a', service: 's' }, [])).toEqual([
      { name: 'service', value: 's', matcher: 'service=s' },
      { name: 'alertname', value: 'x', matcher: 'alertname=x' },
      { name: 'team', value: 'a', matcher: 'team=a' },
      { name: 'zone', value: 'eu', matcher: 'zone=eu' },
    ]);
  });
});

describe('alert state', () => {
  it('filters and counts by state', () => {
    expect(filterAlerts(alerts, 'active')).toEqual([chattyAlert, slowPaymentsAlert]);
    expect(filterAlerts(alerts, 'firing')).toEqual([chattyAlert]);
    expect(filterAlerts(alerts, 'resolved')).toEqual([resolvedAlert]);
    expect(filterAlerts(alerts, 'all')).toHaveLength(3);
    expect(countByState(alerts)).toEqual({ firing: 1, pending: 1, resolved: 1 });
  });

  it('dates an alert by its last change', () => {
    expect(alertSince(chattyAlert)).toBe(chattyAlert.fired_at);
    expect(alertSince(slowPaymentsAlert)).toBe(slowPaymentsAlert.active_at);
    expect(alertSince(resolvedAlert)).toBe('2026-11-26T03:50:00Z');
  });
});

describe('alertLinks', () => {
  it('links a finding alert to its service, edge, finding, example trace and runbook', () => {
    expect(alertLinks(chattyAlert)).toEqual([
      { key: 'service', label: 'orders-service on the map', href: '/?node=orders-service' },
      { key: 'edge', label: 'orders-service → inventory-service on the map', href: '/?src=orders-service&dst=inventory-service' },
      { key: 'finding', label: 'Finding', href: '/findings?kind=chatty&id=39b8f1bb5c478996' },
      { key: 'trace', label: 'Example trace', href: '/traces/46c8cdfcc8121db2fa350894227acae1' },
      { key: 'runbook', label: 'Runbook', href: 'https://runbooks.example.com/n-plus-one?service=orders-service', external: true },
    ]);
  });

  it('links a metric alert to the virtual node of its peer', () => {
    const links = alertLinks(slowPaymentsAlert);
    expect(links.map((l) => l.key)).toEqual(['service', 'edge']);
    expect(links[1].href).toBe('/?src=payments-service&dst=database%3Apostgresql%2Fshop');
    const svc = alertLinks({ ...slowPaymentsAlert, labels: { alertname: 'e', kind: 'metric', scope: 'service', metric: 'error_rate', service: 'payments' } });
    expect(svc.map((l) => l.href)).toEqual(['/?node=payments', '/services?q=payments']);
  });

  it('finds an example trace in a label too, and ignores what is not a trace id', () => {
    expect(exampleTraceId({ ...slowPaymentsAlert, labels: { trace_id: '5B8EFFF798038103D269B633813FC60C' } })).toBe('5b8efff798038103d269b633813fc60c');
    expect(exampleTraceId({ ...slowPaymentsAlert, annotations: { example_trace_id: 'nope' } })).toBeUndefined();
    expect(alertLinks({ ...chattyAlert, annotations: { runbook_url: 'javascript:alert(1)' } }).map((l) => l.key)).toEqual([
      'service',
      'edge',
      'finding',
    ]);
  });

  it('maps peers to node ids', () => {
    expect(peerNodeId('postgresql/shop', 'database')).toBe('database:postgresql/shop');
    expect(peerNodeId('kafka/orders', 'messaging')).toBe('messaging:kafka/orders');
    expect(peerNodeId('inventory-service', 'service')).toBe('inventory-service');
    expect(peerNodeId('inventory-service', undefined)).toBe('inventory-service');
  });
});

describe('alertFacts', () => {
  it('gives a metric alert’s value and threshold in the metric’s unit', () => {
    expect(alertFacts(slowPaymentsAlert)).toEqual([
      { label: 'Value', value: '602 ms' },
      { label: 'Threshold', value: '100 ms' },
    ]);
  });

  it('gives a finding alert’s score, occurrences and last sighting, then the rule’s annotations', () => {
    const now = Date.parse('2026-11-26T03:42:53Z');
    expect(alertFacts({ ...chattyAlert, annotations: { ...chattyAlert.annotations, team_channel: '#shop' } }, now)).toEqual([
      { label: 'Score', value: '30.2' },
      { label: 'Occurrences', value: '11 traces' },
      { label: 'Last seen', value: '3 min ago', title: '2026-11-26T03:39:53Z' },
      { label: 'team_channel', value: '#shop' },
    ]);
  });
});
