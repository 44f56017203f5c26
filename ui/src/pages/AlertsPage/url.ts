// URL state of the alerts page: /alerts?tab=rules, /alerts?show=all&label=service%3Dorders,
// /alerts?tab=deliveries&outcome=failed&range=6h.
import type { DeliveryOutcome } from '../../api/types';
import type { AlertsShow } from '../../utils/alerts';
import { isLabelMatcher } from '../../utils/alerts';
import { type TimeRange, readTimeRange } from '../../utils/timeRange';
import { buildUrl, memoizeLast, readEnum } from '../../utils/url';

export const ROUTE_PATH = '/alerts';

export const TABS = ['firing', 'rules', 'deliveries'] as const;
export type AlertsTab = (typeof TABS)[number];

export const SHOWS = ['active', 'firing', 'pending', 'resolved', 'all'] as const satisfies readonly AlertsShow[];
export const OUTCOMES = ['success', 'retry', 'failed'] as const satisfies readonly DeliveryOutcome[];

export interface AlertsUrlState {
  tab: AlertsTab;
  /** Firing tab: which alerts (active = firing and pending). */
  show: AlertsShow;
  /** Firing tab: label matchers "name=value", all must match (the API's repeatable label parameter). */
  labels: string[];
  /** Deliveries tab: one receiver, or all. */
  receiver: string;
  /** Deliveries tab: one outcome, or all. */
  outcome?: DeliveryOutcome;
  /** Deliveries tab: the window of delivery attempts. */
  time: TimeRange;
}

export function matches(pathname: string): boolean {
  return pathname === ROUTE_PATH;
}

export function getUrl(state: Partial<AlertsUrlState> = {}): string {
  const tab = state.tab ?? 'firing';
  const url = buildUrl(
    ROUTE_PATH,
    {
      tab: tab !== 'firing' ? tab : undefined,
      show: state.show && state.show !== 'active' ? state.show : undefined,
      receiver: state.receiver,
      outcome: state.outcome,
    },
    state.time,
  );
  const labels = [...new Set(state.labels ?? [])].filter(isLabelMatcher);
  if (!labels.length) return url;
  const sp = new URLSearchParams();
  for (const l of labels) sp.append('label', l);
  return `${url}${url.includes('?') ? '&' : '?'}${sp}`;
}

export const getUrlState = memoizeLast((search: string): AlertsUrlState => {
  const sp = new URLSearchParams(search);
  const outcome = readEnum(sp, 'outcome', [...OUTCOMES, ''] as const, '');
  return {
    tab: readEnum(sp, 'tab', TABS, 'firing'),
    show: readEnum(sp, 'show', SHOWS, 'active'),
    labels: [...new Set(sp.getAll('label').filter(isLabelMatcher))],
    receiver: sp.get('receiver') ?? '',
    outcome: outcome || undefined,
    time: readTimeRange(sp),
  };
});
