// Findings grouped by kind, worst first, each explained in plain words.
import { useEffect, useMemo, useRef } from 'react';
import type { Finding, FindingKind, Severity } from '../../api/types';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorView, Loading } from '../../components/StateViews';
import { useFindings } from '../../hooks/useApi';
import { useUrlState } from '../../hooks/useUrlState';
import { KIND_LABELS, KIND_ORDER, SEVERITIES, severityRank, sortFindings } from '../../utils/severity';
import { FindingCard } from './FindingCard';
import { type FindingsUrlState, getUrl, getUrlState } from './url';

export interface FindingGroup {
  kind: FindingKind;
  findings: Finding[];
  counts: Partial<Record<Severity, number>>;
}

/** Filters findings and groups them by kind (fixed order), worst first within a group. */
export function groupFindings(
  findings: Finding[],
  filter: { kind?: FindingKind; severity?: Severity; service?: string },
): FindingGroup[] {
  const svc = filter.service?.trim().toLowerCase() ?? '';
  const min = filter.severity ? severityRank(filter.severity) : 0;
  const kept = findings.filter(
    (f) =>
      (!filter.kind || f.kind === filter.kind) &&
      severityRank(f.severity) >= min &&
      (!svc || f.service.toLowerCase().includes(svc) || f.peer.toLowerCase().includes(svc)),
  );
  const kinds = [...KIND_ORDER, ...new Set(kept.map((f) => f.kind).filter((k) => !KIND_ORDER.includes(k)))];
  return kinds
    .map((kind) => {
      const fs = sortFindings(kept.filter((f) => f.kind === kind));
      const counts: Partial<Record<Severity, number>> = {};
      for (const f of fs) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
      return { kind, findings: fs, counts };
    })
    .filter((g) => g.findings.length > 0);
}

const KIND_HINT: Record<FindingKind, string> = {
  bottleneck: 'Where slow requests spend their time on the critical path.',
  chatty: 'The same call repeated many times within one request (N+1 and call storms).',
  oversized_payload: 'Requests, responses or messages far larger than they should be.',
};

export function FindingsPage() {
  const [state, go] = useUrlState(getUrlState);
  const findingsQ = useFindings(state.time);
  const set = (patch: Partial<FindingsUrlState>) => go(getUrl({ ...state, ...patch }), { replace: true });
  const groups = useMemo(
    () => groupFindings(findingsQ.data?.findings ?? [], { kind: state.kind, severity: state.severity, service: state.service }),
    [findingsQ.data, state.kind, state.severity, state.service],
  );
  const total = findingsQ.data?.findings.length ?? 0;
  const shown = groups.reduce((a, g) => a + g.findings.length, 0);
  const highlightRef = useRef<HTMLElement>(null);
  useEffect(() => {
    highlightRef.current?.scrollIntoView?.({ block: 'center' });
  }, [state.id, findingsQ.data]);

  return (
    <div className="page" data-testid="findings-page">
      <PageHeader title="Findings" subtitle="Bottlenecks, chatty calls and oversized payloads found in the traces" />
      <div className="page-body">
        <div className="filters" role="group" aria-label="Filters">
          <div className="segmented" role="group" aria-label="Kind">
            <button type="button" aria-pressed={!state.kind} onClick={() => set({ kind: undefined })}>
              All kinds
            </button>
            {KIND_ORDER.map((k) => (
              <button key={k} type="button" aria-pressed={state.kind === k} onClick={() => set({ kind: k })}>
                {KIND_LABELS[k]}
              </button>
            ))}
          </div>
          <label className="field">
            Minimum severity
            <select value={state.severity ?? ''} onChange={(e) => set({ severity: (e.target.value || undefined) as Severity | undefined })}>
              <option value="">Any</option>
              {[...SEVERITIES].reverse().map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            Service
            <input type="search" placeholder="caller or peer…" value={state.service} onChange={(e) => set({ service: e.target.value })} />
          </label>
          {findingsQ.data && (
            <span className="muted small" style={{ alignSelf: 'center' }}>
              {shown} of {total} findings
            </span>
          )}
        </div>
        {findingsQ.isError ? (
          <ErrorView error={findingsQ.error} onRetry={() => findingsQ.refetch()} />
        ) : !findingsQ.data ? (
          <Loading label="Loading findings…" />
        ) : total === 0 ? (
          <Empty title="No findings in this window">
            Nothing slow or wasteful was detected. Findings appear about half a minute after a problematic trace
            completes; try a longer time range.
          </Empty>
        ) : shown === 0 ? (
          <Empty title="No findings match the filters" />
        ) : (
          groups.map((g) => (
            <section key={g.kind} className="stack" aria-labelledby={`group-${g.kind}`} data-testid={`group-${g.kind}`}>
              <div className="group-title">
                <h2 id={`group-${g.kind}`}>
                  {KIND_LABELS[g.kind] ?? g.kind} <span className="count">({g.findings.length})</span>
                </h2>
                <div className="row">
                  {SEVERITIES.filter((s) => g.counts[s]).map((s) => (
                    <span key={s} className={`badge sev-${s}`}>
                      {g.counts[s]} {s}
                    </span>
                  ))}
                </div>
                <span className="muted small">{KIND_HINT[g.kind]}</span>
              </div>
              {g.findings.map((f) => (
                <FindingCard
                  key={f.id}
                  finding={f}
                  time={state.time}
                  highlight={f.id === state.id}
                  ref={f.id === state.id ? highlightRef : undefined}
                />
              ))}
            </section>
          ))
        )}
      </div>
    </div>
  );
}
