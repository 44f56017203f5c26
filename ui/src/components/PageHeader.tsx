import type { ReactNode } from 'react';
import { useIsFetching, useQueryClient } from '@tanstack/react-query';
import { RefreshIcon } from './Icons';
import { TimeRangePicker } from './TimeRangePicker';

export function PageHeader({
  title,
  subtitle,
  children,
  timePicker = true,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  children?: ReactNode;
  timePicker?: boolean;
}) {
  const qc = useQueryClient();
  const fetching = useIsFetching();
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle && <div className="subtitle">{subtitle}</div>}
      </div>
      <div className="actions">
        {children}
        {timePicker && <TimeRangePicker />}
        <button
          type="button"
          className="btn"
          onClick={() => qc.invalidateQueries()}
          aria-label="Refresh"
          title="Refresh"
          disabled={fetching > 0}
        >
          <RefreshIcon size={16} className={fetching ? 'spin' : undefined} />
          <span>Refresh</span>
        </button>
      </div>
    </header>
  );
}
