// Alerts (docs/alerts.md) in three tabs whose state is in the URL: the
// firing (and pending, and recently resolved) alerts, the configured rules
// in plain words, and the delivery attempts of notifications.
import { type KeyboardEvent, type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { ApiError } from '../../api/client';
import type { AlertRule, DeliveryOutcome } from '../../api/types';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorView, Loading } from '../../components/StateViews';
import { useAlertDeliveries, useAlertRules, useAlerts } from '../../hooks/useApi';
import { useUrlState } from '../../hooks/useUrlState';
import { type AlertsShow, countByState, filterAlerts } from '../../utils/alerts';
import { timeRangeLabel } from '../../utils/timeRange';
import { AlertCard } from './AlertCard';
import { DeliveriesTable } from './DeliveriesTab';
import { RulesTable } from './RulesTab';
import { type AlertsTab, type AlertsUrlState, OUTCOMES, SHOWS, TABS, getUrl, getUrlState } from './url';

const TAB_LABEL: Record<AlertsTab, string> = { firing: 'Firing', rules: 'Rules', deliveries: 'Deliveries' };

const SHOW_LABEL: Record<AlertsShow, string> = {
  active: 'Firing & pending',
  firing: 'Firing',
  pending: 'Pending',
  resolved: 'Resolved',
  all: 'All',
};

const EMPTY_TITLE: Record<AlertsShow, string> = {
  active: 'No alerts are firing',
  firing: 'No alerts are firing',
  pending: 'No alerts are pending',
  resolved: 'No alerts resolved in the last hour',
  all: 'No alerts in the last hour',
};

/** The alerting endpoints answer 404 when the server runs without alerting. */
function notEnabled(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404;
}

/** A clock for "3 min ago" that moves while the page stays open. */
function useNow(intervalMs = 15_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

export function DocsHint({ children }: { children?: ReactNode }) {
  return (
    <div className="docs-hint" data-testid="alerts-docs-hint">
      <p>
        {children ?? 'No alerting rules are configured.'} Add rules and a receiver to the <code>alerting</code> section of the
        configuration file and restart <code>tracehound serve</code>; <code>docs/alerts.md</code> describes every setting.
      </p>
      <pre className="code-block">{`alerting:
  rules:
    - name: new-bottleneck
      finding: {kind: bottleneck, min_severity: medium}
  receivers:
    - name: slack
      slack: {url_env: SLACK_WEBHOOK_URL}`}</pre>
    </div>
  );
}

function NotEnabled() {
  return (
    <Empty title="Alerting is not enabled in this server">
      <DocsHint>The alerting API answered 404.</DocsHint>
    </Empty>
  );
}

function Tabs({ tab, onSelect, counts }: { tab: AlertsTab; onSelect: (t: AlertsTab) => void; counts: Partial<Record<AlertsTab, number>> }) {
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});
  const onKey = (e: KeyboardEvent) => {
    const i = TABS.indexOf(tab);
    const next =
      e.key === 'ArrowRight' ? TABS[(i + 1) % TABS.length]
      : e.key === 'ArrowLeft' ? TABS[(i + TABS.length - 1) % TABS.length]
      : e.key === 'Home' ? TABS[0]
      : e.key === 'End' ? TABS[TABS.length - 1]
      : undefined;
    if (!next) return;
    e.preventDefault();
    onSelect(next);
    refs.current[next]?.focus();
  };
  return (
    <div className="tabs" role="tablist" aria-label="Alerts sections" onKeyDown={onKey}>
      {TABS.map((t) => (
        <button
          key={t}
          ref={(el) => {
            refs.current[t] = el;
          }}
          type="button"
          role="tab"
          id={`alerts-tab-${t}`}
          aria-controls={`alerts-panel-${t}`}
          aria-selected={tab === t}
          tabIndex={tab === t ? 0 : -1}
          className="tab"
          data-testid={`alerts-tab-${t}`}
          onClick={() => onSelect(t)}
        >
          {TAB_LABEL[t]}
          {counts[t] !== undefined && <span className="tab-count">{counts[t]}</span>}
        </button>
      ))}
    </div>
  );
}

export function AlertsPage() {
  const [state, go] = useUrlState(getUrlState);
  const set = (patch: Partial<AlertsUrlState>) => go(getUrl({ ...state, ...patch }), { replace: true });
  const alertsQ = useAlerts(state.labels);
  const rulesQ = useAlertRules();
  const now = useNow();
  const counts = useMemo(() => countByState(alertsQ.data?.alerts ?? []), [alertsQ.data]);

  const selectTab = (tab: AlertsTab) => {
    if (tab === state.tab) return;
    // Each tab keeps its own filters; the time range stays.
    go(tab === 'firing' ? getUrl({ time: state.time }) : getUrl({ tab, time: state.time }));
  };

  return (
    <div className="page" data-testid="alerts-page">
      <PageHeader
        title="Alerts"
        subtitle="Alerts raised by the rules of the alerting configuration, and the notifications sent for them"
        timePicker={state.tab === 'deliveries'}
      />
      <div className="page-body">
        <Tabs
          tab={state.tab}
          onSelect={selectTab}
          counts={{
            firing: alertsQ.data ? counts.firing : undefined,
            rules: rulesQ.data?.rules.length,
          }}
        />
        <div role="tabpanel" id={`alerts-panel-${state.tab}`} aria-labelledby={`alerts-tab-${state.tab}`} className="stack">
          {state.tab === 'firing' && <FiringTab state={state} set={set} now={now} />}
          {state.tab === 'rules' && <RulesTab />}
          {state.tab === 'deliveries' && <DeliveriesTab state={state} set={set} now={now} />}
        </div>
      </div>
    </div>
  );
}

function FiringTab({ state, set, now }: { state: AlertsUrlState; set: (p: Partial<AlertsUrlState>) => void; now: number }) {
  const alertsQ = useAlerts(state.labels);
  const rulesQ = useAlertRules();
  const shown = useMemo(() => filterAlerts(alertsQ.data?.alerts ?? [], state.show), [alertsQ.data, state.show]);
  const counts = useMemo(() => countByState(alertsQ.data?.alerts ?? []), [alertsQ.data]);
  const rulesByName = useMemo(() => new Map<string, AlertRule>((rulesQ.data?.rules ?? []).map((r) => [r.name, r])), [rulesQ.data]);
  const noRules = rulesQ.data?.rules.length === 0;
  const toggleLabel = (m: string) =>
    set({ labels: state.labels.includes(m) ? state.labels.filter((x) => x !== m) : [...state.labels, m] });

  return (
    <>
      <div className="filters" role="group" aria-label="Filters">
        <div className="segmented" role="group" aria-label="Show">
          {SHOWS.map((s) => (
            <button key={s} type="button" aria-pressed={state.show === s} onClick={() => set({ show: s })}>
              {SHOW_LABEL[s]}
              {s !== 'active' && s !== 'all' && alertsQ.data ? ` (${counts[s]})` : ''}
            </button>
          ))}
        </div>
        {state.labels.length > 0 && (
          <div className="row wrap" role="group" aria-label="Label filters">
            {state.labels.map((m) => (
              <button key={m} type="button" className="chip active-filter" onClick={() => toggleLabel(m)} aria-label={`Remove filter ${m}`}>
                <span className="chip-value">{m}</span>
                <span aria-hidden="true">×</span>
              </button>
            ))}
            <button type="button" className="btn small ghost" onClick={() => set({ labels: [] })}>
              Clear filters
            </button>
          </div>
        )}
        {alertsQ.data && (
          <span className="muted small" style={{ alignSelf: 'center' }}>
            {counts.firing} firing · {counts.pending} pending · {counts.resolved} resolved in the last hour
          </span>
        )}
      </div>
      {alertsQ.isError && notEnabled(alertsQ.error) ? (
        <NotEnabled />
      ) : alertsQ.isError && !alertsQ.data ? (
        <ErrorView error={alertsQ.error} onRetry={() => alertsQ.refetch()} />
      ) : !alertsQ.data ? (
        <Loading label="Loading alerts…" />
      ) : shown.length === 0 ? (
        <Empty title={state.labels.length ? 'No alerts match the label filters' : EMPTY_TITLE[state.show]}>
          {noRules ? (
            <DocsHint />
          ) : rulesQ.data ? (
            <>
              {rulesQ.data.rules.length} rule{rulesQ.data.rules.length === 1 ? ' is' : 's are'} evaluated;{' '}
              <Link to={getUrl({ tab: 'rules' })}>see the rules</Link>.
            </>
          ) : null}
        </Empty>
      ) : (
        <div className="stack" data-testid="alert-list">
          {shown.map((a) => (
            <AlertCard
              key={a.fingerprint}
              alert={a}
              rule={rulesByName.get(a.rule)}
              now={now}
              activeLabels={state.labels}
              onLabel={toggleLabel}
            />
          ))}
        </div>
      )}
    </>
  );
}

function RulesTab() {
  const rulesQ = useAlertRules();
  const alertsQ = useAlerts();
  if (rulesQ.isError) return notEnabled(rulesQ.error) ? <NotEnabled /> : <ErrorView error={rulesQ.error} onRetry={() => rulesQ.refetch()} />;
  if (!rulesQ.data) return <Loading label="Loading rules…" />;
  if (rulesQ.data.rules.length === 0) {
    return (
      <Empty title="No alerting rules are configured">
        <DocsHint>Alerts need rules.</DocsHint>
      </Empty>
    );
  }
  return <RulesTable rules={rulesQ.data.rules} alerts={alertsQ.data?.alerts} />;
}

function DeliveriesTab({ state, set, now }: { state: AlertsUrlState; set: (p: Partial<AlertsUrlState>) => void; now: number }) {
  const q = useAlertDeliveries(state.time, { receiver: state.receiver || undefined, outcome: state.outcome });
  const rulesQ = useAlertRules();
  const receivers = useMemo(() => {
    const s = new Set<string>();
    for (const r of rulesQ.data?.rules ?? []) for (const name of r.receivers) s.add(name);
    for (const d of q.data?.deliveries ?? []) s.add(d.receiver);
    if (state.receiver) s.add(state.receiver);
    return [...s].sort();
  }, [rulesQ.data, q.data, state.receiver]);
  const filtered = Boolean(state.receiver || state.outcome);

  return (
    <>
      <div className="filters" role="group" aria-label="Filters">
        <label className="field">
          Receiver
          <select value={state.receiver} onChange={(e) => set({ receiver: e.target.value })}>
            <option value="">All receivers</option>
            {receivers.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <div className="segmented" role="group" aria-label="Outcome">
          <button type="button" aria-pressed={!state.outcome} onClick={() => set({ outcome: undefined })}>
            All outcomes
          </button>
          {OUTCOMES.map((o: DeliveryOutcome) => (
            <button key={o} type="button" aria-pressed={state.outcome === o} onClick={() => set({ outcome: o })}>
              {o[0].toUpperCase() + o.slice(1)}
            </button>
          ))}
        </div>
        {q.data && (
          <span className="muted small" style={{ alignSelf: 'center' }}>
            {q.data.deliveries.length} attempt{q.data.deliveries.length === 1 ? '' : 's'} · {timeRangeLabel(state.time).toLowerCase()}
          </span>
        )}
      </div>
      {q.isError && notEnabled(q.error) ? (
        <NotEnabled />
      ) : q.isError && !q.data ? (
        <ErrorView error={q.error} onRetry={() => q.refetch()} />
      ) : !q.data ? (
        <Loading label="Loading deliveries…" />
      ) : q.data.deliveries.length === 0 ? (
        <Empty title={filtered ? 'No deliveries match the filters' : 'No notifications were sent in this window'}>
          {rulesQ.data?.rules.length === 0 ? (
            <DocsHint />
          ) : (
            'A notification goes out group_wait (30 s by default) after an alert fires, then when the alerts of its group change. Try a longer time range.'
          )}
        </Empty>
      ) : (
        <DeliveriesTable deliveries={q.data.deliveries} now={now} />
      )}
    </>
  );
}
