// A finding in a few lines, with links to its example traces and to its
// full explanation on the findings page (used by the map's side panel).
import { Link } from 'react-router-dom';
import type { Finding } from '../api/types';
import { getUrl as findingsUrl } from '../pages/FindingsPage/url';
import { getUrl as traceUrl } from '../pages/TracePage/url';
import { explainFinding } from '../utils/evidence';
import { kindLabel } from '../utils/severity';
import type { TimeRange } from '../utils/timeRange';
import { SeverityBadge } from './Badges';

export function FindingBrief({ finding, time }: { finding: Finding; time?: TimeRange }) {
  const ex = explainFinding(finding);
  return (
    <article className={`finding-mini sev-${finding.severity}`} data-testid="finding-brief" data-kind={finding.kind}>
      <div className="row wrap">
        <SeverityBadge severity={finding.severity} />
        <span className="badge neutral">{kindLabel(finding.kind)}</span>
      </div>
      <strong>{ex.title}</strong>
      <div className="summary">{finding.summary}</div>
      {ex.remedies.length > 0 && (
        <div className="remedies" aria-label="Remedies">
          {ex.remedies.map((r) => (
            <span key={r} className="remedy">
              {r}
            </span>
          ))}
        </div>
      )}
      <div className="links">
        {finding.example_trace_ids.slice(0, 3).map((id, i) => (
          <Link key={id} to={traceUrl(id)} data-testid="example-trace">
            Example trace {i + 1}
          </Link>
        ))}
        <Link to={findingsUrl({ id: finding.id, time })}>Explain →</Link>
      </div>
    </article>
  );
}
