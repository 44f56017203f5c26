// The span waterfall, virtualised with @tanstack/react-virtual: only the
// rows in view (plus a margin) are in the DOM, so a 20,000-span trace
// scrolls as smoothly as a 20-span one. Critical-path spans carry a dark
// line over the part of their bar that is on the path; the label shows
// duration and self time.
import { memo, useEffect, useRef } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { ServiceDot } from '../../components/Badges';
import { ChevronDown, ChevronRight } from '../../components/Icons';
import { formatNs } from '../../utils/format';
import { type TraceModel, barGeometry, criticalSegments, serviceColorSlot, ticks } from '../../utils/waterfall';

export const ROW_HEIGHT = 28;
const INDENT = 12;
const MAX_INDENT_DEPTH = 30;

export interface WaterfallProps {
  model: TraceModel;
  rows: number[];
  selected: number | undefined;
  collapsed: ReadonlySet<string>;
  matches?: ReadonlySet<number>;
  onSelect: (index: number) => void;
  onToggle: (spanId: string) => void;
  /** Row to scroll into view (e.g. the span named in the URL). */
  scrollTo?: number;
}

export function Waterfall({
  model,
  rows,
  selected,
  collapsed,
  matches,
  onSelect,
  onToggle,
  scrollTo,
}: WaterfallProps) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 15,
  });

  useEffect(() => {
    if (scrollTo === undefined) return;
    const pos = rows.indexOf(scrollTo);
    if (pos >= 0) virtualizer.scrollToIndex(pos, { align: 'auto' });
    // Only when the target changes, not on every row change.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [scrollTo]);

  const onKeyDown = (e: React.KeyboardEvent) => {
    if (!rows.length) return;
    const pos = selected === undefined ? -1 : rows.indexOf(selected);
    let next = pos;
    if (e.key === 'ArrowDown' || e.key === 'j') next = Math.min(rows.length - 1, pos + 1);
    else if (e.key === 'ArrowUp' || e.key === 'k') next = Math.max(0, pos - 1);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = rows.length - 1;
    else if ((e.key === 'ArrowRight' || e.key === 'ArrowLeft') && selected !== undefined) {
      const id = model.spans[selected].span_id;
      const isCollapsed = collapsed.has(id);
      if (model.children[selected].length && (e.key === 'ArrowRight') === isCollapsed) onToggle(id);
      e.preventDefault();
      return;
    } else return;
    e.preventDefault();
    if (next >= 0 && next !== pos) {
      onSelect(rows[next]);
      virtualizer.scrollToIndex(next, { align: 'auto' });
    }
  };

  const axis = ticks(model.durationNs, 4);
  return (
    <div className="trace-main" data-testid="waterfall">
      <div className="wf-header" aria-hidden="true">
        <div className="name">Service · operation</div>
        <div className="wf-axis">
          {axis.map((t) => (
            <span key={t.fraction} style={{ left: `${t.fraction * 100}%` }}>
              {formatNs(t.ns)}
            </span>
          ))}
        </div>
      </div>
      <div
        ref={scrollRef}
        className="wf-scroll"
        tabIndex={0}
        role="tree"
        aria-label={`Spans (${rows.length})`}
        onKeyDown={onKeyDown}
        data-testid="waterfall-scroll"
      >
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((v) => {
            const i = rows[v.index];
            return (
              <Row
                key={i}
                model={model}
                index={i}
                top={v.start}
                selected={i === selected}
                collapsed={collapsed.has(model.spans[i].span_id)}
                match={matches?.has(i) ?? false}
                onSelect={onSelect}
                onToggle={onToggle}
              />
            );
          })}
        </div>
      </div>
    </div>
  );
}

const Row = memo(function Row({
  model,
  index,
  top,
  selected,
  collapsed,
  match,
  onSelect,
  onToggle,
}: {
  model: TraceModel;
  index: number;
  top: number;
  selected: boolean;
  collapsed: boolean;
  match: boolean;
  onSelect: (i: number) => void;
  onToggle: (id: string) => void;
}) {
  const s = model.spans[index];
  const depth = model.depth[index];
  const nChildren = model.children[index].length;
  const { left, width } = barGeometry(model, index);
  const segs = s.on_critical_path ? criticalSegments(model, index) : [];
  const color = `var(--svc-${serviceColorSlot(s.service)})`;
  // The label goes after the bar, else before it, else (a bar across most
  // of the axis) inside it.
  const place = left + width <= 0.72 ? 'after' : left >= 0.28 ? 'before' : 'inside';
  const label = `${formatNs(s.duration_ns)}${nChildren ? ` · self ${formatNs(s.self_time_ns)}` : ''}`;
  const cls = ['wf-row', selected && 'selected', s.on_critical_path && 'cp', match && 'match'].filter(Boolean).join(' ');
  return (
    <div
      className={cls}
      style={{ transform: `translateY(${top}px)` }}
      role="treeitem"
      aria-level={depth + 1}
      aria-selected={selected}
      aria-expanded={nChildren ? !collapsed : undefined}
      data-span-id={s.span_id}
      data-critical={s.on_critical_path ? 'true' : 'false'}
      onClick={() => onSelect(index)}
    >
      <div className="wf-name" style={{ paddingLeft: 6 + Math.min(depth, MAX_INDENT_DEPTH) * INDENT }}>
        {nChildren ? (
          <button
            type="button"
            className="icon-btn toggle"
            tabIndex={-1}
            aria-label={collapsed ? `Expand ${nChildren} children` : `Collapse ${nChildren} children`}
            onClick={(e) => {
              e.stopPropagation();
              onToggle(s.span_id);
            }}
          >
            {collapsed ? <ChevronRight size={14} /> : <ChevronDown size={14} />}
          </button>
        ) : (
          <span className="toggle-spacer" />
        )}
        <button type="button" className="sel" tabIndex={-1} title={`${s.service} · ${s.name}`}>
          <ServiceDot service={s.service} />
          <span className="svc">{s.service}</span>
          <span className="op">{s.name}</span>
        </button>
        {depth > MAX_INDENT_DEPTH && <span className="count">L{depth}</span>}
        {collapsed && nChildren > 0 && <span className="count">+{nChildren}</span>}
        {s.status_code === 'error' && (
          <span className="err" title="Error status" aria-label="error">
            !
          </span>
        )}
        {s.on_critical_path && <span className="cp-mark" title="On the critical path" aria-label="critical path" />}
      </div>
      <div className="wf-timeline">
        <div className="wf-grid" style={{ left: '25%' }} />
        <div className="wf-grid" style={{ left: '50%' }} />
        <div className="wf-grid" style={{ left: '75%' }} />
        <div
          className={`wf-bar${s.status_code === 'error' ? ' error' : ''}`}
          style={{ left: `${left * 100}%`, width: `${width * 100}%`, background: color }}
        />
        {segs.map(([a, b], k) => (
          <div key={k} className="wf-cp" style={{ left: `${a * 100}%`, width: `${(b - a) * 100}%` }} />
        ))}
        <span
          className={`wf-label${place === 'inside' ? ' inside' : ''}`}
          style={
            place === 'after'
              ? { left: `calc(${(left + width) * 100}% + 6px)` }
              : place === 'before'
                ? { right: `calc(${(1 - left) * 100}% + 6px)` }
                : { right: `calc(${(1 - left - width) * 100}% + 8px)` }
          }
        >
          {label}
        </span>
      </div>
    </div>
  );
});
