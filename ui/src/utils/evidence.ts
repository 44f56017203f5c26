// Plain-words explanations of findings: what was seen, why it matters and
// what to do, built from each kind's evidence (docs/detection.md).
import type { Finding } from '../api/types';
import { formatBytes, formatMs, formatPercent } from './format';

export type Remedy = 'batch' | 'cache' | 'parallelise' | 'paginate' | 'compress' | 'optimise query' | 'profile';

export interface Fact {
  label: string;
  value: string;
}

export interface Explanation {
  title: string;
  /** What the analysis saw in the traces. */
  seen: string;
  /** Why that costs latency, load or money. */
  why: string;
  /** Concrete next steps, most effective first. */
  todo: string[];
  remedies: Remedy[];
  facts: Fact[];
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function times(n: number | undefined): string {
  if (n === undefined) return 'many times';
  const r = Math.round(n * 10) / 10;
  return `${r}×`;
}

function peerText(f: Finding): string {
  if (!f.peer) return 'its peer';
  switch (f.peer_kind) {
    case 'database':
      return `the database ${f.peer}`;
    case 'messaging':
      return `the queue ${f.peer}`;
    case 'external':
      return `the external ${f.peer}`;
    default:
      return f.peer;
  }
}

export function explainFinding(f: Finding): Explanation {
  switch (f.kind) {
    case 'chatty':
      return explainChatty(f);
    case 'bottleneck':
      return explainBottleneck(f);
    case 'oversized_payload':
      return explainPayload(f);
    default:
      return {
        title: f.summary || String(f.kind),
        seen: f.summary,
        why: 'This pattern was flagged by the analysis.',
        todo: [],
        remedies: [],
        facts: [],
      };
  }
}

function explainChatty(f: Finding): Explanation {
  const e = f.evidence ?? {};
  const calls = num(e.calls_per_trace);
  const total = num(e.total_ms_p50);
  const savings = num(e.estimated_savings_ms);
  const caller = str(e.caller_operation);
  const storm = e.pattern === 'call_storm' || e.sequential === false;
  const peer = peerText(f);
  const isDb = f.peer_kind === 'database';
  const where = caller ? `While handling ${caller}, ${f.service}` : f.service;
  if (!storm) {
    return {
      title: `N+1: ${f.service} calls ${f.peer || 'a peer'} ${times(calls)} per request`,
      seen: `${where} calls ${peer} "${f.operation}" ${times(calls)} in a typical request, one call after another${
        total !== undefined ? `, ${formatMs(total)} in total` : ''
      }.`,
      why: `Each call waits for the one before it, so the request pays for every round trip in turn${
        savings !== undefined ? `; doing the work in one call would save about ${formatMs(savings)} per request` : ''
      }. It grows with the number of items, so it gets worse exactly when the data gets bigger.`,
      todo: [
        isDb
          ? `Batch: load all rows in one query (WHERE id IN (…) or a JOIN) instead of one query per item.`
          : `Batch: add or use a bulk endpoint (e.g. one request with all the ids) instead of one call per item.`,
        `Cache: if the same items are read again and again, keep them in ${f.service} for a short while.`,
        `If no batch call is possible, parallelise the calls: the request then waits for the slowest one only.`,
      ],
      remedies: ['batch', 'cache', 'parallelise'],
      facts: compact([
        ['Calls per request', calls !== undefined ? String(Math.round(calls * 10) / 10) : undefined],
        ['Pattern', 'sequential (N+1)'],
        ['Time in these calls (p50)', total !== undefined ? formatMs(total) : undefined],
        ['Estimated saving', savings !== undefined ? `${formatMs(savings)} per request` : undefined],
        ['Caller operation', caller],
      ]),
    };
  }
  return {
    title: `Call storm: ${f.service} calls ${f.peer || 'a peer'} ${times(calls)} in parallel`,
    seen: `${where} fires ${times(calls)} "${f.operation}" at ${peer} at the same time in a typical request${
      total !== undefined ? `, ${formatMs(total)} of call time in total` : ''
    }.`,
    why: `The calls overlap, so the request is not much slower, but every request multiplies the load on ${peer} and the network${
      savings !== undefined ? `; one batched call would save about ${formatMs(savings)} of call time per request` : ''
    }. Under load this is what saturates connection pools and trips rate limits.`,
    todo: [
      isDb
        ? `Batch: one query for all items (WHERE id IN (…)) instead of many concurrent ones.`
        : `Batch: send all ids in one request to a bulk endpoint.`,
      `Cache results that repeat within or across requests.`,
      `If the caller needs only part of the results, paginate: fetch the first page now and the rest on demand.`,
    ],
    remedies: ['batch', 'cache', 'paginate'],
    facts: compact([
      ['Calls per request', calls !== undefined ? String(Math.round(calls * 10) / 10) : undefined],
      ['Pattern', 'parallel (call storm)'],
      ['Call time (p50)', total !== undefined ? formatMs(total) : undefined],
      ['Estimated saving', savings !== undefined ? `${formatMs(savings)} of call time per request` : undefined],
      ['Caller operation', caller],
    ]),
  };
}

function explainBottleneck(f: Finding): Explanation {
  const e = f.evidence ?? {};
  const share = num(e.share);
  const excl = num(e.exclusive_ms_p50);
  const dur = num(e.trace_duration_ms_p50);
  const threshold = num(e.slow_threshold_ms);
  const slow = num(e.slow_traces);
  const examined = num(e.traces_examined);
  const entry = [str(e.entry_service), str(e.entry_operation)].filter(Boolean).join(' ');
  const isDb = f.peer_kind === 'database';
  const group = `${f.service} ${f.operation}`;
  const target = f.peer ? ` (calling ${peerText(f)})` : '';
  const todo: string[] = [];
  const remedies: Remedy[] = [];
  if (isDb) {
    todo.push(
      `Optimise the query: look at its plan (EXPLAIN), add the missing index, select only the columns and rows needed.`,
      `Cache the result if it changes rarely.`,
      `If it returns many rows, paginate instead of loading everything.`,
    );
    remedies.push('optimise query', 'cache', 'paginate');
  } else if (f.peer) {
    todo.push(
      `Cache ${f.peer}'s answer if it can be reused across requests.`,
      `Parallelise: start this call earlier, alongside other independent work of the request, so it is no longer on the critical path.`,
      `Ask the owners of ${f.peer} why it is slow (its own traces show where the time goes), and set a timeout.`,
    );
    remedies.push('cache', 'parallelise');
  } else {
    todo.push(
      `Profile ${group}: the time is spent in its own code, not waiting for other services.`,
      `Cache what it computes if the same inputs repeat.`,
      `Move work that the response does not need off the request path (a queue, a background job).`,
    );
    remedies.push('profile', 'cache', 'parallelise');
  }
  return {
    title: `Bottleneck: ${group}`,
    seen: `In slow ${entry ? `${entry} requests` : 'requests'}${
      threshold !== undefined ? ` (those taking ${formatMs(threshold)} or more` : ''
    }${threshold !== undefined && slow !== undefined && examined !== undefined ? `: ${slow} of ${examined} traces)` : threshold !== undefined ? ')' : ''}, ${group}${target} accounts for ${
      excl !== undefined ? formatMs(excl) : 'most'
    }${dur !== undefined ? ` of ${formatMs(dur)}` : ''}${share !== undefined ? ` — ${formatPercent(share, 0)} of the request` : ''}, on the critical path.`,
    why: `The critical path is the chain of work the user waits for. This group's own time on it is the largest share, so speeding it up shortens the request directly; speeding up anything else hardly helps.`,
    todo,
    remedies,
    facts: compact([
      ['Entry operation', entry || undefined],
      ['Share of request', share !== undefined ? formatPercent(share, 0) : undefined],
      ['Exclusive time (p50)', excl !== undefined ? formatMs(excl) : undefined],
      ['Request duration (p50)', dur !== undefined ? formatMs(dur) : undefined],
      ['Slow threshold', threshold !== undefined ? formatMs(threshold) : undefined],
      ['Slow traces', slow !== undefined && examined !== undefined ? `${slow} of ${examined}` : undefined],
    ]),
  };
}

function explainPayload(f: Finding): Explanation {
  const e = f.evidence ?? {};
  const dir = str(e.direction) ?? 'payload';
  const p50 = num(e.p50_bytes);
  const p95 = num(e.p95_bytes);
  const max = num(e.max_bytes);
  const thr = num(e.threshold_bytes);
  const samples = num(e.samples);
  const outlier = e.reason === 'outlier';
  const what = dir === 'request' ? 'requests' : dir === 'response' ? 'responses' : dir === 'message' ? 'messages' : 'payloads';
  return {
    title: `Oversized ${dir}: ${f.service} → ${f.peer || 'peer'}`,
    seen: outlier
      ? `Some ${what} of ${f.service} → ${peerText(f)} "${f.operation}" are far larger than usual: p95 ${formatBytes(p95)} against a median of ${formatBytes(p50)}${
          max !== undefined ? `, up to ${formatBytes(max)}` : ''
        }${samples !== undefined ? ` over ${samples} calls` : ''}.`
      : `${capitalise(what)} of ${f.service} → ${peerText(f)} "${f.operation}" are typically ${formatBytes(p50)}${
          p95 !== undefined ? ` (p95 ${formatBytes(p95)}` : ''
        }${max !== undefined ? `, largest ${formatBytes(max)})` : p95 !== undefined ? ')' : ''}${
          thr !== undefined ? `, above the ${formatBytes(thr)} limit` : ''
        }${samples !== undefined ? `, over ${samples} calls` : ''}.`,
    why: `Every byte is serialised, sent, buffered and parsed on both sides: megabyte payloads cost CPU, memory and bandwidth on each call and make latency climb under load.`,
    todo: [
      `Compress the body (gzip or zstd; images and binary data are better served from a CDN or object store by URL).`,
      `Paginate: return a page of results instead of the whole collection.`,
      `Send only the fields the caller uses (a slimmer response or a field mask).`,
    ],
    remedies: ['compress', 'paginate'],
    facts: compact([
      ['Direction', dir],
      ['Typical size (p50)', p50 !== undefined ? formatBytes(p50) : undefined],
      ['p95', p95 !== undefined ? formatBytes(p95) : undefined],
      ['Largest', max !== undefined ? formatBytes(max) : undefined],
      ['Threshold', thr !== undefined ? `${formatBytes(thr)} (${outlier ? '10× the usual size' : 'absolute limit'})` : undefined],
      ['Calls measured', samples !== undefined ? String(samples) : undefined],
    ]),
  };
}

function capitalise(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

function compact(pairs: Array<[string, string | undefined]>): Fact[] {
  return pairs.filter((p): p is [string, string] => p[1] !== undefined).map(([label, value]) => ({ label, value }));
}
