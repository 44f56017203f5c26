// Delivery attempts of notifications, newest first: when, to which
// receiver, the outcome, the HTTP status, the attempt and the (redacted)
// error.
import type { AlertDelivery } from '../../api/types';
import { formatAgo, formatDateTime, formatMs } from '../../utils/format';

export function OutcomeBadge({ outcome }: { outcome: string }) {
  return <span className={`badge outcome-${outcome}`}>{outcome}</span>;
}

export function DeliveriesTable({ deliveries, now }: { deliveries: AlertDelivery[]; now: number }) {
  return (
    <div className="card" style={{ overflow: 'auto' }}>
      <table className="table" data-testid="deliveries-table">
        <caption className="sr-only">Notification delivery attempts</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Receiver</th>
            <th scope="col">Notification</th>
            <th scope="col">Outcome</th>
            <th scope="col" className="num">
              Status code
            </th>
            <th scope="col" className="num">
              Attempt
            </th>
            <th scope="col" className="num">
              Took
            </th>
            <th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          {deliveries.map((d) => (
            <tr key={`${d.at}|${d.receiver}|${d.group_key}|${d.seq}|${d.attempt}|${d.instance}`} data-testid="delivery-row" data-outcome={d.outcome}>
              <td className="nowrap" title={d.at}>
                {formatDateTime(d.at)}
                <div className="muted small">{formatAgo(d.at, now)}</div>
              </td>
              <td>
                <strong>{d.receiver}</strong>
                <div className="muted small">{d.integration}</div>
              </td>
              <td>
                <span>
                  {d.status}, {d.alerts} alert{d.alerts === 1 ? '' : 's'}
                </span>
                <div className="muted small mono ellipsis" style={{ maxWidth: 320 }} title={`${d.group_key} #${d.seq}`}>
                  {d.group_key} #{d.seq}
                </div>
              </td>
              <td>
                <OutcomeBadge outcome={d.outcome} />
              </td>
              <td className="num">{d.http_status ? d.http_status : <span className="muted">–</span>}</td>
              <td className="num">{d.attempt}</td>
              <td className="num">{formatMs(d.duration_ms)}</td>
              <td className="delivery-error">{d.error ? <span className="mono small">{d.error}</span> : <span className="muted">–</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
