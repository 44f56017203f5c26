// One finding, explained: what was seen, why it matters, what to do, with
// links to the map element and to example traces.
import { forwardRef } from 'react';
import { Link } from 'react-router-dom';
import type { Finding } from '../../api/types';
import { NodeKindBadge, SeverityBadge } from '../../components/Badges';
import { explainFinding } from '../../utils/evidence';
import { formatAgo, formatDateTime } from '../../utils/format';
import type { TimeRange } from '../../utils/timeRange';
import { getUrl as mapUrl } from '../MapPage/url';
import { getUrl as traceUrl } from '../TracePage/url';

export function mapLinkFor(f: Finding, time?: TimeRange): string {
  if (f.peer_id) return mapUrl({ edge: [f.service, f.peer_id], time });
  return mapUrl({ node: f.service, time });
}

export const FindingCard = forwardRef<HTMLElement, { finding: Finding; highlight?: boolean; time?: TimeRange }>(
  function FindingCard({ finding: f, highlight, time }, ref) {
    const ex = explainFinding(f);
    return (
      <article
        ref={ref}
        className={`card finding-card sev-${f.severity}${highlight ? ' highlight' : ''}`}
        data-testid="finding-card"
        data-kind={f.kind}
        data-finding-id={f.id}
        aria-labelledby={`f-${f.id}`}
      >
        <header>
          <div className="grow stack" style={{ gap: 4 }}>
            <div className="row wrap">
              <SeverityBadge severity={f.severity} />
              <span className="muted small">score {Math.round(f.score)}</span>
              {f.peer_kind && <NodeKindBadge kind={f.peer_kind} />}
            </div>
            <h3 id={`f-${f.id}`}>{ex.title}</h3>
            <div className="muted">{f.summary}</div>
          </div>
        </header>
        <div className="body">
          <div className="explain">
            <div>
              <h4>What we saw</h4>
              <p>{ex.seen}</p>
            </div>
            <div>
              <h4>Why it matters</h4>
              <p>{ex.why}</p>
            </div>
            <div>
              <h4>What to do</h4>
              <ul>
                {ex.todo.map((t) => (
                  <li key={t}>{t}</li>
                ))}
              </ul>
            </div>
            {ex.remedies.length > 0 && (
              <div className="remedies" aria-label="Remedies">
                {ex.remedies.map((r) => (
                  <span key={r} className="remedy">
                    {r}
                  </span>
                ))}
              </div>
            )}
          </div>
          <div className="finding-side">
            {ex.facts.length > 0 && (
              <dl className="kv">
                {ex.facts.map((fact) => (
                  <div key={fact.label} style={{ display: 'contents' }}>
                    <dt>{fact.label}</dt>
                    <dd>{fact.value}</dd>
                  </div>
                ))}
              </dl>
            )}
            <dl className="kv">
              <dt>Where</dt>
              <dd>
                {f.service}
                {f.peer ? ` → ${f.peer}` : ''}
              </dd>
              <dt>Operation</dt>
              <dd className="mono">{f.operation}</dd>
              <dt>Occurrences</dt>
              <dd>{f.occurrences} trace{f.occurrences === 1 ? '' : 's'}</dd>
              <dt>Last seen</dt>
              <dd title={formatDateTime(f.last_seen)}>{formatAgo(f.last_seen)}</dd>
              <dt>First seen</dt>
              <dd title={formatDateTime(f.first_seen)}>{formatAgo(f.first_seen)}</dd>
            </dl>
            <div className="links">
              <Link to={mapLinkFor(f, time)} className="btn small">
                Show on map
              </Link>
            </div>
            {f.example_trace_ids.length > 0 && (
              <div className="links" aria-label="Example traces">
                <span className="muted">Example traces:</span>
                {f.example_trace_ids.map((id) => (
                  <Link key={id} to={traceUrl(id)} className="mono" data-testid="example-trace">
                    {id.slice(0, 8)}
                  </Link>
                ))}
              </div>
            )}
          </div>
        </div>
      </article>
    );
  },
);
