// Details of one span: timing, self time, critical-path membership, status,
// attributes, resource attributes, events and links.
import { Link } from 'react-router-dom';
import type { AttributeValue, Attributes, Span } from '../../api/types';
import { ServiceDot } from '../../components/Badges';
import { CloseIcon } from '../../components/Icons';
import { formatNs, formatOffsetNs } from '../../utils/format';
import type { TraceModel } from '../../utils/waterfall';
import { getUrl } from './url';

export function attrValue(v: AttributeValue): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'null';
  return JSON.stringify(v);
}

export function AttributeTable({ attrs, label }: { attrs: Attributes | undefined; label: string }) {
  const entries = Object.entries(attrs ?? {}).sort((a, b) => a[0].localeCompare(b[0]));
  if (!entries.length) return <div className="muted small">No {label.toLowerCase()}.</div>;
  return (
    <table className="attr-table" aria-label={label}>
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <td>{k}</td>
            <td>{attrValue(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function SpanDetails({
  model,
  index,
  onClose,
  onSelectSpan,
}: {
  model: TraceModel;
  index: number;
  onClose: () => void;
  onSelectSpan: (spanId: string) => void;
}) {
  const s: Span = model.spans[index];
  const parentIdx = model.parent[index];
  const parent = parentIdx >= 0 ? model.spans[parentIdx] : undefined;
  const selfShare = s.duration_ns ? s.self_time_ns / s.duration_ns : 0;
  return (
    <aside className="span-details" aria-label="Span details" data-testid="span-details">
      <section>
        <div className="side-title">
          <div className="grow stack" style={{ gap: 4 }}>
            <div className="row">
              <ServiceDot service={s.service} />
              <strong>{s.service}</strong>
              <span className="badge neutral">{s.kind}</span>
              {s.on_critical_path && <span className="badge cp">critical path</span>}
              {s.status_code === 'error' && <span className="badge error">error</span>}
            </div>
            <h2 style={{ overflowWrap: 'anywhere' }}>{s.name}</h2>
          </div>
          <button type="button" className="icon-btn" aria-label="Close span details" onClick={onClose}>
            <CloseIcon size={16} />
          </button>
        </div>
        <div className="metrics">
          <div className="metric">
            <div className="label">Duration</div>
            <div className="value">{formatNs(s.duration_ns)}</div>
          </div>
          <div className="metric">
            <div className="label">Self time</div>
            <div className="value">{formatNs(s.self_time_ns)}</div>
          </div>
          <div className="metric">
            <div className="label">Starts at</div>
            <div className="value">+{formatOffsetNs(model.offsetNs[index])}</div>
          </div>
        </div>
        <dl className="kv">
          <dt>Self share</dt>
          <dd>{Math.round(selfShare * 100)}% of the span (the rest waits for children)</dd>
          <dt>Critical path</dt>
          <dd>{s.on_critical_path ? 'yes — the request waits for this span' : 'no'}</dd>
          <dt>Status</dt>
          <dd>
            {s.status_code}
            {s.status_message ? `: ${s.status_message}` : ''}
          </dd>
          <dt>Span id</dt>
          <dd className="mono">{s.span_id}</dd>
          <dt>Parent</dt>
          <dd>
            {parent ? (
              <button
                type="button"
                className="btn small"
                style={{ maxWidth: '100%' }}
                title={`${parent.service} · ${parent.name}`}
                onClick={() => onSelectSpan(parent.span_id)}
              >
                <span className="ellipsis">
                  {parent.service} · {parent.name}
                </span>
              </button>
            ) : s.parent_span_id ? (
              <span className="mono">{s.parent_span_id} (not in this trace)</span>
            ) : (
              'root'
            )}
          </dd>
          {model.children[index].length > 0 && (
            <>
              <dt>Children</dt>
              <dd>{model.children[index].length}</dd>
            </>
          )}
          {(s.scope_name || s.scope_version) && (
            <>
              <dt>Scope</dt>
              <dd>
                {s.scope_name} {s.scope_version}
              </dd>
            </>
          )}
          {s.dropped_attributes_count > 0 && (
            <>
              <dt>Dropped</dt>
              <dd>{s.dropped_attributes_count} attributes</dd>
            </>
          )}
        </dl>
      </section>
      <section>
        <h3>Attributes</h3>
        <AttributeTable attrs={s.attributes} label="Attributes" />
      </section>
      <section>
        <h3>Events ({s.events?.length ?? 0})</h3>
        {s.events?.length ? (
          <ol className="stack" style={{ gap: 8, margin: 0, paddingLeft: 18 }}>
            {s.events.map((ev, i) => (
              <li key={i}>
                <div className="row">
                  <strong>{ev.name}</strong>
                  <span className="muted small">+{formatOffsetNs(ev.time_unix_nano - s.start_unix_nano)} into the span</span>
                </div>
                {Object.keys(ev.attributes ?? {}).length > 0 && <AttributeTable attrs={ev.attributes} label="Event attributes" />}
              </li>
            ))}
          </ol>
        ) : (
          <div className="muted small">No events.</div>
        )}
      </section>
      <section>
        <h3>Links ({s.links?.length ?? 0})</h3>
        {s.links?.length ? (
          <ul className="stack" style={{ gap: 8, margin: 0, paddingLeft: 18 }}>
            {s.links.map((l, i) => (
              <li key={i}>
                {l.trace_id === model.traceId && model.indexById.has(l.span_id) ? (
                  <button type="button" className="btn small" onClick={() => onSelectSpan(l.span_id)}>
                    Span {l.span_id} in this trace
                  </button>
                ) : (
                  <Link to={getUrl(l.trace_id, { span: l.span_id })} className="mono">
                    {l.trace_id.slice(0, 12)}… / {l.span_id}
                  </Link>
                )}
                {Object.keys(l.attributes ?? {}).length > 0 && <AttributeTable attrs={l.attributes} label="Link attributes" />}
              </li>
            ))}
          </ul>
        ) : (
          <div className="muted small">No links.</div>
        )}
      </section>
      <section>
        <h3>Resource</h3>
        <AttributeTable attrs={s.resource_attributes} label="Resource attributes" />
      </section>
    </aside>
  );
}
