// One alert: state, name, severity, since when, what it says (summary,
// description), the numbers behind it, its labels as chips (a click filters
// by the label) and links into the other views.
import { Link } from 'react-router-dom';
import type { Alert, AlertRule } from '../../api/types';
import { SeverityBadge } from '../../components/Badges';
import { alertFacts, alertLinks, alertSince, humanDuration, labelChips, parseGoDuration } from '../../utils/alerts';
import { formatAgo, formatDateTime } from '../../utils/format';

const STATE_WORD = { firing: 'Firing', pending: 'Pending', resolved: 'Resolved' } as const;

export function AlertStateBadge({ state }: { state: string }) {
  return <span className={`badge state-${state}`}>{STATE_WORD[state as keyof typeof STATE_WORD] ?? state}</span>;
}

function sinceText(a: Alert, rule: AlertRule | undefined, now: number): string {
  const t = alertSince(a);
  const base = `${STATE_WORD[a.state] ?? a.state} since ${formatDateTime(t)} (${formatAgo(t, now)})`;
  if (a.state === 'pending' && rule) {
    const forMs = parseGoDuration(rule.for);
    if (forMs) return `${base}; fires once it has held for ${humanDuration(forMs)}`;
  }
  return base;
}

export function AlertCard({
  alert: a,
  rule,
  now,
  activeLabels,
  onLabel,
}: {
  alert: Alert;
  rule?: AlertRule;
  now: number;
  /** Label matchers filtering the list: their chips show as pressed. */
  activeLabels: string[];
  /** A chip was clicked: filter by (or stop filtering by) that label. */
  onLabel: (matcher: string) => void;
}) {
  const name = a.labels.alertname || a.rule;
  const facts = alertFacts(a, now);
  const links = alertLinks(a);
  const chips = labelChips(a.labels);
  const id = `alert-${a.fingerprint}`;
  return (
    <article
      className={`card alert-card state-${a.state}`}
      data-testid="alert-card"
      data-state={a.state}
      data-alertname={name}
      aria-labelledby={id}
    >
      <header>
        <div className="row wrap">
          <AlertStateBadge state={a.state} />
          {a.labels.severity && <SeverityBadge severity={a.labels.severity} />}
          <h3 id={id}>{name}</h3>
        </div>
        <div className="muted small" title={alertSince(a)} data-testid="alert-since">
          {sinceText(a, rule, now)}
        </div>
      </header>
      <div className="alert-body">
        <div className="stack" style={{ gap: 8 }}>
          {a.annotations.summary && <p className="alert-summary">{a.annotations.summary}</p>}
          {a.annotations.description && <p className="muted">{a.annotations.description}</p>}
          {chips.length > 0 && (
            <ul className="chips" aria-label="Labels">
              {chips.map((c) => {
                const on = activeLabels.includes(c.matcher);
                return (
                  <li key={c.matcher}>
                    <button
                      type="button"
                      className="chip"
                      aria-pressed={on}
                      aria-label={c.matcher}
                      title={on ? `Stop filtering by ${c.matcher}` : `Show only alerts with ${c.matcher}`}
                      onClick={() => onLabel(c.matcher)}
                    >
                      <span className="chip-name">{c.name}</span>
                      <span className="chip-value">{c.value}</span>
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
          {links.length > 0 && (
            <div className="links" aria-label="Links">
              {links.map((l) =>
                l.external ? (
                  <a key={l.key} href={l.href} target="_blank" rel="noreferrer noopener" data-testid={`alert-link-${l.key}`}>
                    {l.label} ↗
                  </a>
                ) : (
                  <Link key={l.key} to={l.href} data-testid={`alert-link-${l.key}`}>
                    {l.label}
                  </Link>
                ),
              )}
            </div>
          )}
        </div>
        {facts.length > 0 && (
          <dl className="kv alert-facts">
            {facts.map((f) => (
              <div key={f.label} style={{ display: 'contents' }}>
                <dt>{f.label}</dt>
                <dd title={f.title}>{f.value}</dd>
              </div>
            ))}
          </dl>
        )}
      </div>
    </article>
  );
}
