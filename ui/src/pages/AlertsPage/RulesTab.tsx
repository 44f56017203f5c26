// The configured rules: name, type, the condition in plain words, for:,
// severity and receivers, with how many of each rule's alerts are active.
import { Link } from 'react-router-dom';
import type { Alert, AlertRule } from '../../api/types';
import { SeverityBadge } from '../../components/Badges';
import { humanGoDuration, labelChips, parseGoDuration, ruleInWords } from '../../utils/alerts';
import { getUrl } from './url';

export function RulesTable({ rules, alerts }: { rules: AlertRule[]; alerts: Alert[] | undefined }) {
  const active = new Map<string, { firing: number; pending: number }>();
  for (const a of alerts ?? []) {
    if (a.state !== 'firing' && a.state !== 'pending') continue;
    const name = a.labels.alertname || a.rule;
    const c = active.get(name) ?? { firing: 0, pending: 0 };
    c[a.state]++;
    active.set(name, c);
  }
  return (
    <div className="card" style={{ overflow: 'auto' }}>
      <table className="table" data-testid="rules-table">
        <caption className="sr-only">Alerting rules</caption>
        <thead>
          <tr>
            <th scope="col">Rule</th>
            <th scope="col">Type</th>
            <th scope="col">Condition</th>
            <th scope="col">For</th>
            <th scope="col">Severity</th>
            <th scope="col">Receivers</th>
          </tr>
        </thead>
        <tbody>
          {rules.map((r) => {
            const c = active.get(r.name);
            const extra = labelChips(r.labels, []);
            return (
              <tr key={r.name} data-testid="rule-row" data-rule={r.name}>
                <td>
                  <div className="stack" style={{ gap: 4 }}>
                    <strong className="mono">{r.name}</strong>
                    {c && (
                      <Link
                        to={getUrl({ tab: 'firing', labels: [`alertname=${r.name}`] })}
                        className="small"
                        aria-label={`${r.name}: ${c.firing} firing, ${c.pending} pending`}
                      >
                        {c.firing > 0 && <span className="badge state-firing">{c.firing} firing</span>}{' '}
                        {c.pending > 0 && <span className="badge state-pending">{c.pending} pending</span>}
                      </Link>
                    )}
                    {extra.length > 0 && (
                      <span className="muted small">
                        adds {extra.map((l) => l.matcher).join(', ')}
                      </span>
                    )}
                  </div>
                </td>
                <td>
                  <span className={`badge rule-${r.type}`}>{r.type}</span>
                </td>
                <td title={r.condition} className="rule-condition">
                  {ruleInWords(r)}
                </td>
                <td className="nowrap">
                  {humanGoDuration(r.for)}
                  <div className="muted small">{parseGoDuration(r.for) ? 'pending until then' : 'fires at once'}</div>
                </td>
                <td>{r.severity ? <SeverityBadge severity={r.severity} /> : <span className="muted small">the finding’s</span>}</td>
                <td>
                  {r.receivers.length ? (
                    <div className="row wrap" style={{ gap: 4 }}>
                      {r.receivers.map((name) => (
                        <span key={name} className="tag">
                          {name}
                        </span>
                      ))}
                    </div>
                  ) : (
                    <span className="muted small">none</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
