// The window of the current view, kept in the URL (range=… or from/to).
import { useState } from 'react';
import { useLocation, useNavigate } from 'react-router-dom';
import { RANGE_PRESETS, type TimeRange, readTimeRange, resolveWindow, writeTimeRange } from '../utils/timeRange';

function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function TimeRangePicker() {
  const location = useLocation();
  const navigate = useNavigate();
  const sp = new URLSearchParams(location.search);
  const tr = readTimeRange(sp);
  const [custom, setCustom] = useState(tr.kind === 'absolute');
  const win = resolveWindow(tr);
  const [from, setFrom] = useState(toLocalInput(win.from));
  const [to, setTo] = useState(toLocalInput(win.to));

  const apply = (next: TimeRange) => {
    const out = new URLSearchParams(location.search);
    writeTimeRange(out, next);
    const q = out.toString();
    navigate(`${location.pathname}${q ? `?${q}` : ''}`, { replace: true });
  };

  const presetKnown = tr.kind === 'relative' && RANGE_PRESETS.some((p) => p.value === tr.range);
  const value = custom || tr.kind === 'absolute' ? 'custom' : presetKnown ? tr.range : tr.kind === 'relative' ? tr.range : 'custom';

  return (
    <div className="row wrap" role="group" aria-label="Time range">
      <label className="sr-only" htmlFor="time-range">
        Time range
      </label>
      <select
        id="time-range"
        value={value}
        onChange={(e) => {
          const v = e.target.value;
          if (v === 'custom') {
            setCustom(true);
            return;
          }
          setCustom(false);
          const p = RANGE_PRESETS.find((x) => x.value === v);
          if (p) apply({ kind: 'relative', range: p.value, ms: p.ms });
        }}
      >
        {RANGE_PRESETS.map((p) => (
          <option key={p.value} value={p.value}>
            {p.label}
          </option>
        ))}
        {!presetKnown && tr.kind === 'relative' && <option value={tr.range}>Last {tr.range}</option>}
        <option value="custom">Custom range…</option>
      </select>
      {(custom || tr.kind === 'absolute') && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            const f = new Date(from).getTime();
            const t = new Date(to).getTime();
            if (Number.isFinite(f) && Number.isFinite(t) && f < t) apply({ kind: 'absolute', from: f, to: t });
          }}
        >
          <label className="sr-only" htmlFor="time-from">
            From
          </label>
          <input id="time-from" type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
          <span className="muted">to</span>
          <label className="sr-only" htmlFor="time-to">
            To
          </label>
          <input id="time-to" type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
          <button type="submit" className="btn">
            Apply
          </button>
        </form>
      )}
    </div>
  );
}
