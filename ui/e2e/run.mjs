#!/usr/bin/env node
// End-to-end tests of the web UI in real headless Chromium.
//
// Starts `tracehound serve` (embedded ClickHouse, fast analysis settings),
// feeds it with `tracehound demo` (planted N+1, slow query, 5 MiB responses,
// decoys) and a 20,000-span trace, with an alerting rule on chatty findings
// that notifies a webhook served by this script, waits until the API reports the planted
// findings, then drives Debian's chromium through playwright-core with real
// clicks and keys. Screenshots of every view, light and dark, go to
// test-artifacts/ui/. Prints "N passed, M failed" last; exits non-zero on
// any failure.
//
// Environment: TRACEHOUND_BIN (default bin/tracehound), TRACEHOUND_CHDB_LIB
// (default lib/libchdb.so when present), CHROMIUM (default
// /usr/bin/chromium), UI_ARTIFACTS (default test-artifacts/ui),
// E2E_FILTER (run only tests whose name contains it),
// TRACEHOUND_URL + TRACEHOUND_OTLP_HTTP (use a running, already fed server).
import { spawn } from 'node:child_process';
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { bigTrace, manyServices } from './otlp.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.TRACEHOUND_BIN || path.join(ROOT, 'bin/tracehound');
const CHDB = process.env.TRACEHOUND_CHDB_LIB || (existsSync(path.join(ROOT, 'lib/libchdb.so')) ? path.join(ROOT, 'lib/libchdb.so') : '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.UI_ARTIFACTS || path.join(ROOT, 'test-artifacts/ui');
const FILTER = process.env.E2E_FILTER || '';
const VIEWPORT = { width: 1440, height: 900 };

const log = (...a) => console.log(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class AssertionError extends Error {}
function assert(cond, msg) {
  if (!cond) throw new AssertionError(msg);
}
/** Case-insensitive "contains" (labels are upper-cased by CSS, and innerText follows CSS). */
const has = (text, s) => text.toLowerCase().includes(s.toLowerCase());

async function waitFor(fn, { timeout = 30_000, interval = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(interval);
  }
}

// ---------------------------------------------------------------- server

const ALERT_RULE = 'e2e-chatty-calls';
const ALERT_RECEIVER = 'e2e-webhook';

/** The webhook receiver of the alerting rule: records every notification (Alertmanager's webhook payload). */
function startWebhook() {
  const received = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (b) => (body += b));
    req.on('end', () => {
      try {
        received.push(JSON.parse(body));
      } catch {
        received.push({ raw: body });
      }
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, received, url: `http://127.0.0.1:${server.address().port}/alerts` }));
  });
}

/** Analysis fast enough for a test; alerts evaluated every second and notified at once (docs/alerts.md). */
function serverConfig(webhookUrl) {
  return `analysis:
  idle: 1s
  window: 1s
  interval: 200ms
alerting:
  evaluation_interval: 1s
  route:
    group_wait: 0s
    group_interval: 5s
  rules:
    - name: ${ALERT_RULE}
      finding: {kind: chatty}
      annotations:
        description: "Planted by the demo: batch the {{ $labels.peer }} calls."
      receivers: [${ALERT_RECEIVER}]
  receivers:
    - name: ${ALERT_RECEIVER}
      webhook: {url: "${webhookUrl}"}
`;
}

function startServer(tmp, webhookUrl) {
  const cfg = path.join(tmp, 'config.yaml');
  writeFileSync(cfg, serverConfig(webhookUrl));
  const args = [
    'serve',
    '--data-dir', path.join(tmp, 'data'),
    '--otlp-grpc-addr', '127.0.0.1:0',
    '--otlp-http-addr', '127.0.0.1:0',
    '--http-addr', '127.0.0.1:0',
    '--config', cfg,
  ];
  const env = { ...process.env };
  if (CHDB) env.TRACEHOUND_CHDB_LIB = CHDB;
  const proc = spawn(BIN, args, { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const addrs = {};
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not up after 90 s:\n${output.slice(-3000)}`)), 90_000);
    const onData = (buf) => {
      output += buf.toString();
      for (const line of output.split('\n')) {
        let m;
        if ((m = /OTLP gRPC:\s+(\S+)/.exec(line))) addrs.grpc = m[1];
        if ((m = /OTLP HTTP:\s+(\S+)/.exec(line))) addrs.otlpHttp = m[1];
        if ((m = /UI and API:\s+http:\/\/(\S+?)\/?(\s|$)/.exec(line))) addrs.http = m[1];
      }
      if (output.includes('Press Ctrl-C to stop.') && addrs.http && addrs.grpc) {
        clearTimeout(timer);
        resolve({
          proc,
          base: `http://${addrs.http}`,
          grpc: addrs.grpc,
          otlpHttp: `http://${addrs.otlpHttp}`,
          output: () => output,
        });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tracehound serve exited with ${code}:\n${output.slice(-3000)}`));
    });
  });
}

async function stopServer(server) {
  if (!server?.proc || server.proc.exitCode !== null) return;
  const exited = new Promise((r) => server.proc.once('exit', r));
  server.proc.kill('SIGINT');
  const t = setTimeout(() => server.proc.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(t);
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    p.stdout.on('data', (b) => (out += b));
    p.stderr.on('data', (b) => (out += b));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out.slice(-3000)}`))));
  });
}

async function getJSON(base, p) {
  const res = await fetch(base + p);
  if (!res.ok) throw new Error(`GET ${p}: ${res.status} ${await res.text()}`);
  return res.json();
}

// ---------------------------------------------------------------- tests

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

/** State shared by the tests (they run in order). */
const ctx = {};

function shot(page, name) {
  return page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
}

async function setTheme(page, theme) {
  const current = await page.evaluate(() => document.documentElement.dataset.theme);
  if (current !== theme) {
    await page.getByTestId('theme-toggle').click();
    await waitFor(async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === theme, { what: `theme ${theme}` });
  }
}

async function waitForMap(page) {
  await page.getByTestId('map-canvas').waitFor();
  await waitFor(() => page.evaluate(() => (window.__tracehoundCy?.nodes().length ?? 0) > 0), { what: 'map nodes' });
  await sleep(300); // first paint of the canvas
}

async function gotoMap(page, query = '') {
  await page.goto(`${ctx.base}/${query}`);
  await waitForMap(page);
}

/** Clicks an edge on the canvas like a user: at a point on its line. */
async function clickEdge(page, source, target) {
  const box = await page.getByTestId('map-canvas').boundingBox();
  for (const t of [0.5, 0.4, 0.6, 0.3, 0.7]) {
    const pt = await page.evaluate(
      ({ source, target, t }) => {
        const cy = window.__tracehoundCy;
        const e = cy.edges().filter((x) => x.source().id() === source && x.target().id() === target)[0];
        if (!e) return null;
        if (t === 0.5) return e.renderedMidpoint();
        const a = e.renderedSourceEndpoint();
        const b = e.renderedTargetEndpoint();
        return { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t };
      },
      { source, target, t },
    );
    assert(pt, `edge ${source} → ${target} is not on the map`);
    await page.mouse.click(box.x + pt.x, box.y + pt.y);
    const ok = await page
      .getByTestId('edge-details')
      .filter({ hasText: source.replace(/^\w+:/, '') })
      .isVisible()
      .catch(() => false);
    if (ok) return;
  }
  throw new AssertionError(`clicking the edge ${source} → ${target} did not open its details`);
}

test('map shows the expected nodes and edges', async (page) => {
  await gotoMap(page);
  const cyNodes = await page.evaluate(() => window.__tracehoundCy.nodes().map((n) => n.id()));
  const cyEdges = await page.evaluate(() => window.__tracehoundCy.edges().map((e) => `${e.source().id()} -> ${e.target().id()}`));
  const apiNodes = ctx.graph.nodes.map((n) => n.id);
  const apiEdges = ctx.graph.edges.map((e) => `${e.source} -> ${e.target}`);
  for (const id of apiNodes) assert(cyNodes.includes(id), `node ${id} from the API is missing on the map`);
  for (const e of apiEdges) assert(cyEdges.includes(e), `edge ${e} from the API is missing on the map`);
  for (const id of [
    'web-frontend', 'api-gateway', 'orders-service', 'inventory-service', 'payments-service', 'catalog-service',
    'image-service', 'database:postgresql/shop', 'messaging:kafka/orders', 'external:api.stripe.com',
  ]) {
    assert(cyNodes.includes(id), `expected demo node ${id} on the map (have ${cyNodes.join(', ')})`);
  }
  for (const e of ['orders-service -> inventory-service', 'catalog-service -> image-service', 'payments-service -> database:postgresql/shop']) {
    assert(cyEdges.includes(e), `expected edge ${e} on the map`);
  }
  // Node kinds are drawn with different shapes.
  const shapes = await page.evaluate(() => {
    const cy = window.__tracehoundCy;
    const s = (id) => cy.getElementById(id).style('shape');
    return { service: s('orders-service'), database: s('database:postgresql/shop'), messaging: s('messaging:kafka/orders'), external: s('external:api.stripe.com') };
  });
  assert(new Set(Object.values(shapes)).size === 4, `node kinds should have 4 distinct shapes: ${JSON.stringify(shapes)}`);
  // Elements with findings are highlighted.
  const flagged = await page.evaluate(() => window.__tracehoundCy.edges('.has-finding').map((e) => `${e.source().id()} -> ${e.target().id()}`));
  assert(flagged.includes(`${ctx.chatty.service} -> ${ctx.chatty.peer_id}`), `chatty edge not highlighted (flagged: ${flagged})`);
  const overview = page.getByTestId('map-overview');
  await overview.waitFor();
  const text = await overview.innerText();
  assert(text.includes('Problems on the map'), 'overview panel missing');
  await shot(page, 'map-light');
});

test('clicking the chatty edge shows its finding', async (page) => {
  await gotoMap(page);
  await clickEdge(page, ctx.chatty.service, ctx.chatty.peer_id);
  const details = page.getByTestId('edge-details');
  const text = await details.innerText();
  assert(text.includes(`${ctx.chatty.service}`) && text.includes(ctx.chatty.peer), `edge details title: ${text.slice(0, 200)}`);
  for (const label of ['Calls', 'p95', 'Calls / trace', 'Request avg']) assert(has(text, label), `edge details lack ${label}`);
  const brief = details.locator('[data-testid=finding-brief][data-kind=chatty]');
  await brief.first().waitFor();
  const briefText = await brief.first().innerText();
  assert(/N\+1/.test(briefText), `chatty finding should say N+1: ${briefText}`);
  assert(briefText.includes('10×'), `chatty finding should give the calls per request: ${briefText}`);
  const url = new URL(page.url());
  assert(url.searchParams.get('src') === ctx.chatty.service && url.searchParams.get('dst') === ctx.chatty.peer_id, `selection not in the URL: ${page.url()}`);
  ctx.edgeUrl = page.url();
  await shot(page, 'map-chatty-edge-light');
});

test('opening an example trace shows the waterfall with the critical path', async (page) => {
  // Examples rotate as later traces are analysed: compare with the finding as
  // the page received it, and as the API has it now.
  const seen = new Set();
  const onResponse = async (res) => {
    if (!new URL(res.url()).pathname.startsWith('/api/v1/findings')) return;
    const body = await res.json().catch(() => null);
    for (const f of body?.findings ?? []) if (f.id === ctx.chatty.id) f.example_trace_ids.forEach((id) => seen.add(id));
  };
  page.on('response', onResponse);
  await page.goto(ctx.edgeUrl);
  await waitForMap(page);
  const link = page.getByTestId('edge-details').locator('[data-testid=finding-brief][data-kind=chatty] [data-testid=example-trace]').first();
  await link.click();
  await page.waitForURL(/\/traces\/[0-9a-f]{32}/);
  page.off('response', onResponse);
  const traceId = /\/traces\/([0-9a-f]{32})/.exec(page.url())[1];
  const fresh = (await getJSON(ctx.base, '/api/v1/findings?kind=chatty')).findings.find((x) => x.id === ctx.chatty.id);
  const examples = new Set([...ctx.chatty.example_trace_ids, ...(fresh?.example_trace_ids ?? []), ...seen]);
  assert(examples.has(traceId), `opened ${traceId}, not an example of the finding`);
  await page.getByTestId('waterfall').waitFor();
  await waitFor(() => page.locator('.wf-row').count(), { what: 'waterfall rows' });
  const critical = await page.locator('.wf-row[data-critical=true]').count();
  const segments = await page.locator('.wf-row .wf-cp').count();
  assert(critical >= 2, `expected critical-path rows, got ${critical}`);
  assert(segments >= 1, 'no critical-path segments drawn');
  const repeated = await page.locator('.wf-row', { hasText: ctx.chatty.peer }).count();
  assert(repeated >= 10, `the N+1 trace should show ≥ 10 ${ctx.chatty.peer} rows, saw ${repeated}`);
  const summary = await page.getByTestId('trace-summary').innerText();
  assert(/Critical path/i.test(summary), 'summary lacks the critical path');
  // Select a critical span: details with self time and attributes.
  await page.locator('.wf-row[data-critical=true]').nth(1).click();
  const details = page.getByTestId('span-details');
  await details.waitFor();
  const dt = await details.innerText();
  assert(has(dt, 'Self time') && has(dt, 'critical path') && has(dt, 'Attributes'), `span details: ${dt.slice(0, 300)}`);
  assert(new URL(page.url()).searchParams.get('span'), 'selected span not in the URL');
  // "Critical path only" keeps only those rows.
  await page.getByTestId('critical-only').click();
  await waitFor(async () => (await page.locator('.wf-row[data-critical=false]').count()) === 0, { what: 'critical-only filter' });
  await page.getByTestId('critical-only').click();
  ctx.traceUrl = page.url();
  await shot(page, 'trace-light');
});

test('findings page lists the planted problems', async (page) => {
  await page.goto(`${ctx.base}/findings`);
  await page.getByTestId('finding-card').first().waitFor();
  const cards = await page.getByTestId('finding-card').count();
  ctx.findings = (await getJSON(ctx.base, '/api/v1/findings')).findings;
  assert(cards === ctx.findings.length, `${cards} cards for ${ctx.findings.length} findings`);
  const bottleneck = await page.getByTestId('group-bottleneck').innerText();
  assert(bottleneck.includes('payments-service') && /ledger/i.test(bottleneck), 'the slow ledger query is not listed as a bottleneck');
  assert(has(bottleneck, 'What we saw') && has(bottleneck, 'Why it matters') && has(bottleneck, 'What to do'), 'bottleneck lacks the explanation');
  const chatty = await page.getByTestId('group-chatty').innerText();
  assert(chatty.includes(ctx.chatty.service) && chatty.includes('N+1') && /batch/i.test(chatty), 'the N+1 is not listed with batching advice');
  const payload = await page.getByTestId('group-oversized_payload').innerText();
  assert(payload.includes('catalog-service') && payload.includes('image-service') && /5(\.0)? MiB/.test(payload), 'the 5 MiB responses are not listed');
  assert(/compress/i.test(payload), 'payload finding lacks compression advice');
  await shot(page, 'findings-light');
  // Filter by kind (URL state), then "Show on map" goes to the edge.
  await page.getByRole('button', { name: 'Oversized payload' }).click();
  await waitFor(async () => new URL(page.url()).searchParams.get('kind') === 'oversized_payload', { what: 'kind in URL' });
  await waitFor(async () => (await page.getByTestId('finding-card').count()) === ctx.findings.filter((f) => f.kind === 'oversized_payload').length, { what: 'filtered cards' });
  await page.getByTestId('finding-card').first().getByRole('link', { name: 'Show on map' }).click();
  await waitForMap(page);
  const edge = await page.getByTestId('edge-details').innerText();
  assert(edge.includes('catalog-service') && edge.includes('image-service'), `Show on map opened: ${edge.slice(0, 120)}`);
  assert(/5(\.0)? MiB|MiB/.test(edge), 'the edge should show its response size');
});

test('alerts page lists firing alerts and rules', async (page) => {
  // The rule on chatty findings fires once the analyzer has reported the N+1.
  const isChatty = (a) => a.state === 'firing' && a.labels.kind === 'chatty' && a.labels.service === ctx.chatty.service;
  const alert = await waitFor(async () => (await getJSON(ctx.base, '/api/v1/alerts')).alerts.find(isChatty), {
    timeout: 60_000,
    interval: 1000,
    what: 'the chatty alert to fire (GET /api/v1/alerts)',
  });
  const rule = (await getJSON(ctx.base, '/api/v1/alerts/rules')).rules.find((r) => r.name === alert.rule);
  assert(rule, `no rule ${alert.rule} in /api/v1/alerts/rules`);

  await page.goto(`${ctx.base}/alerts`);
  const card = page.locator(`[data-testid=alert-card][data-alertname="${alert.labels.alertname}"]`).first();
  await card.waitFor();
  const text = await card.innerText();
  assert((await card.getAttribute('data-state')) === 'firing' && has(text, 'Firing since'), `alert card not firing: ${text.slice(0, 200)}`);
  assert(text.includes(alert.annotations.summary) && text.includes('N+1'), `alert card lacks the summary: ${text.slice(0, 300)}`);
  for (const [k, v] of [['service', ctx.chatty.service], ['peer', ctx.chatty.peer], ['kind', 'chatty']]) {
    const chip = card.getByRole('button', { name: `${k}=${v}`, exact: true });
    assert(await chip.isVisible(), `no label chip ${k}=${v}`);
  }
  const findingLink = await card.getByTestId('alert-link-finding').getAttribute('href');
  assert(findingLink.includes(`id=${alert.annotations.finding_id}`), `finding link: ${findingLink}`);
  assert((await card.getByTestId('alert-link-service').getAttribute('href')) === `/?node=${ctx.chatty.service}`, 'service link should open its map node');
  const tab = await page.getByRole('tab', { name: /Firing/ }).innerText();
  assert(/[1-9]/.test(tab), `the Firing tab should count the alert: ${tab}`);
  await shot(page, 'alerts-light');

  // A label chip filters through the URL.
  await card.getByRole('button', { name: `service=${ctx.chatty.service}`, exact: true }).click();
  await waitFor(async () => new URL(page.url()).searchParams.getAll('label').includes(`service=${ctx.chatty.service}`), { what: 'label filter in the URL' });
  await page.getByRole('button', { name: `Remove filter service=${ctx.chatty.service}` }).click();

  // Rules: the condition in plain words, for:, receivers.
  await page.getByRole('tab', { name: /Rules/ }).click();
  await waitFor(async () => new URL(page.url()).searchParams.get('tab') === 'rules', { what: 'rules tab in the URL' });
  const row = page.locator(`[data-testid=rule-row][data-rule="${rule.name}"]`);
  await row.waitFor();
  const rowText = await row.innerText();
  assert(has(rowText, 'finding') && has(rowText, 'chatty-calls finding') && has(rowText, 'seen within the last'), `rule row: ${rowText}`);
  for (const r of rule.receivers) assert(rowText.includes(r), `rule row lacks receiver ${r}: ${rowText}`);
  assert(has(rowText, '1 firing') || /\d+ firing/i.test(rowText), `rule row should count its firing alert: ${rowText}`);

  // Deliveries, reached with the keyboard: the webhook got the notification.
  if (ctx.webhook) {
    await waitFor(() => ctx.webhook.received.some((n) => n.alerts?.some((a) => a.labels?.alertname === alert.labels.alertname)), {
      timeout: 30_000,
      what: 'the webhook to receive the notification',
    });
    await waitFor(
      async () => (await getJSON(ctx.base, `/api/v1/alerts/deliveries?receiver=${ALERT_RECEIVER}&outcome=success`)).deliveries.length > 0,
      { timeout: 30_000, interval: 500, what: 'the delivery record' },
    );
  }
  await page.getByRole('tab', { name: /Rules/ }).focus();
  await page.keyboard.press('ArrowRight');
  await waitFor(async () => new URL(page.url()).searchParams.get('tab') === 'deliveries', { what: 'deliveries tab in the URL' });
  if (ctx.webhook) {
    const delivery = page.locator('[data-testid=delivery-row][data-outcome=success]', { hasText: ALERT_RECEIVER }).first();
    await delivery.waitFor();
    const d = await delivery.innerText();
    assert(d.includes('200') && has(d, 'webhook'), `delivery row: ${d}`);
  } else {
    await page.locator('[data-testid=deliveries-table], [data-testid=empty]').first().waitFor();
  }
  await shot(page, 'alerts-deliveries-light');

  // The example trace of the alert opens the waterfall.
  await page.goto(`${ctx.base}/alerts`);
  await card.getByTestId('alert-link-trace').click();
  await page.waitForURL(/\/traces\/[0-9a-f]{32}/);
  await page.getByTestId('waterfall').waitFor();
});

test('services list shows RED metrics and sorts', async (page) => {
  await page.goto(`${ctx.base}/services`);
  const table = page.getByTestId('services-table');
  await table.waitFor();
  const rows = await table.locator('tbody tr').count();
  assert(rows === ctx.services.length, `${rows} rows for ${ctx.services.length} services`);
  const head = await table.locator('thead').innerText();
  for (const col of ['REQUESTS', 'ERRORS', 'ERROR RATE', 'P50', 'P95', 'P99']) assert(head.toUpperCase().includes(col), `column ${col} missing`);
  await table.getByRole('button', { name: /^p95/ }).click();
  await waitFor(async () => new URL(page.url()).searchParams.get('sort') === 'p95_ms', { what: 'sort in URL' });
  const slowest = [...ctx.services].sort((a, b) => b.p95_ms - a.p95_ms)[0].name;
  // The URL changes a moment before the table re-renders.
  let first = '';
  await waitFor(async () => (first = await table.locator('tbody tr').first().innerText()).includes(slowest), { timeout: 5000, what: 'the sorted table' }).catch(() => {});
  assert(first.includes(slowest), `first row after sorting by p95 should be ${slowest}: ${first}`);
  await page.getByLabel('Filter services').fill('pay');
  await waitFor(async () => (await table.locator('tbody tr').count()) === ctx.services.filter((s) => s.name.includes('pay')).length, { what: 'filter' });
  await page.getByLabel('Filter services').fill('');
  await shot(page, 'services-light');
});

test('trace search finds traces and opens one', async (page) => {
  await page.goto(`${ctx.base}/traces`);
  await page.getByRole('search').waitFor();
  await page.locator('select[name=service]').selectOption('payments-service');
  await page.locator('input[name=min_duration_ms]').fill('300');
  await page.getByRole('button', { name: 'Search' }).click();
  await waitFor(async () => new URL(page.url()).searchParams.get('service') === 'payments-service', { what: 'search in URL' });
  const table = page.getByTestId('traces-table');
  await table.waitFor();
  const n = await table.locator('tbody tr').count();
  assert(n > 0, 'no traces found for payments-service over 300 ms');
  const apiN = (await getJSON(ctx.base, '/api/v1/traces?service=payments-service&min_duration_ms=300')).traces.length;
  assert(n === apiN, `${n} rows, API has ${apiN}`);
  await shot(page, 'traces-light');
  ctx.tracesUrl = page.url();
  await table.locator('tbody tr').first().getByRole('link').first().click();
  await page.getByTestId('waterfall').waitFor();
  const rows = await page.locator('.wf-row', { hasText: 'payments-service' }).count();
  assert(rows > 0, 'the opened trace has no payments-service span');
});

test('shareable URLs restore the view', async (page) => {
  await page.goto(ctx.edgeUrl);
  await waitForMap(page);
  await page.getByTestId('edge-details').waitFor();
  const sel = await page.evaluate(() => window.__tracehoundCy.edges('.sel').map((e) => e.source().id()));
  assert(sel.includes(ctx.chatty.service), 'edge from the URL is not selected on the canvas');
  await page.goto(ctx.traceUrl);
  await page.getByTestId('span-details').waitFor();
  // Neighbourhood view.
  await page.goto(`${ctx.base}/?focus=payments-service&node=payments-service`);
  await waitForMap(page);
  await page.getByTestId('focus-chip').waitFor();
  const ids = await page.evaluate(() => window.__tracehoundCy.nodes().map((n) => n.id()));
  assert(ids.includes('payments-service') && ids.includes('database:postgresql/shop'), `neighbourhood: ${ids}`);
  assert(!ids.includes('image-service'), 'neighbourhood view should leave out far nodes');
  // Back to the whole map.
  await page.getByRole('button', { name: 'Show all' }).click();
  await waitFor(() => page.evaluate((n) => window.__tracehoundCy.nodes().length === n, ctx.graph.nodes.length), { what: 'whole map' });
});

test('map search selects a node and shows its RED metrics', async (page) => {
  await gotoMap(page);
  const box = page.getByRole('combobox', { name: 'Find a service or node' });
  await box.fill('payme');
  await page.keyboard.press('Enter');
  const details = page.getByTestId('node-details');
  await details.waitFor();
  const text = await details.innerText();
  assert(text.includes('payments-service'), 'search did not select payments-service');
  for (const label of ['Requests', 'Error rate', 'p50', 'p95', 'p99']) assert(has(text, label), `node details lack ${label}`);
  assert(text.includes('Bottleneck'), 'payments-service should show its bottleneck finding');
});

test('API errors are shown, not a blank page', async (page) => {
  await page.goto(`${ctx.base}/traces/not-a-trace-id`);
  let err = page.getByTestId('error');
  await err.waitFor();
  let text = await err.innerText();
  assert(/invalid parameter/i.test(text) && text.includes('bad_data'), `bad id: ${text}`);
  await page.goto(`${ctx.base}/traces/0123456789abcdef0123456789abcdef`);
  err = page.getByTestId('error');
  await err.waitFor();
  text = await err.innerText();
  assert(/not found/i.test(text), `unknown trace: ${text}`);
  await page.goto(`${ctx.base}/no/such/page`);
  await page.getByText('No such page').waitFor();
});

test('keyboard reaches the navigation and the theme switch', async (page) => {
  await page.goto(`${ctx.base}/findings`);
  await page.getByTestId('finding-card').first().waitFor();
  let reached = false;
  for (let i = 0; i < 12 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.textContent?.trim() === 'Services');
  }
  assert(reached, 'Tab never reached the Services link');
  await page.keyboard.press('Enter');
  await page.getByTestId('services-table').waitFor();
  const before = await page.evaluate(() => document.documentElement.dataset.theme);
  await page.getByTestId('theme-toggle').focus();
  await page.keyboard.press('Enter');
  const after = await page.evaluate(() => document.documentElement.dataset.theme);
  assert(before !== after, 'Enter on the theme switch did not change the theme');
  await page.keyboard.press('Enter'); // back
});

test('dark theme: every view', async (page) => {
  await page.goto(`${ctx.base}/`);
  await setTheme(page, 'dark');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert(bg !== 'rgb(245, 246, 248)', `dark background expected, got ${bg}`);
  await gotoMap(page);
  await shot(page, 'map-dark');
  await page.goto(ctx.edgeUrl);
  await waitForMap(page);
  await page.getByTestId('edge-details').waitFor();
  await shot(page, 'map-chatty-edge-dark');
  await page.goto(`${ctx.base}/services`);
  await page.getByTestId('services-table').waitFor();
  await shot(page, 'services-dark');
  await page.goto(ctx.tracesUrl);
  await page.getByTestId('traces-table').waitFor();
  await shot(page, 'traces-dark');
  await page.goto(ctx.traceUrl);
  await page.getByTestId('span-details').waitFor();
  await shot(page, 'trace-dark');
  await page.goto(`${ctx.base}/alerts`);
  await page.getByTestId('alert-card').first().waitFor();
  await shot(page, 'alerts-dark');
  await page.goto(`${ctx.base}/findings`);
  await page.getByTestId('finding-card').first().waitFor();
  await shot(page, 'findings-dark');
  // The theme is a preference: it survives a reload.
  await page.reload();
  await page.getByTestId('finding-card').first().waitFor();
  assert((await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark', 'theme not kept across reloads');
  await setTheme(page, 'light');
});

test('a 20,000-span trace stays responsive (virtualised waterfall)', async (page) => {
  const t0 = Date.now();
  await page.goto(`${ctx.base}/traces/${ctx.big.traceId}`);
  await page.getByTestId('waterfall').waitFor({ timeout: 60_000 });
  await waitFor(() => page.locator('.wf-row').count(), { what: 'rows', timeout: 60_000 });
  const loadMs = Date.now() - t0;
  const summary = await page.getByTestId('trace-summary').innerText();
  assert(summary.includes(String(ctx.big.spanCount)), `summary should count ${ctx.big.spanCount} spans: ${summary}`);
  const inDom = await page.locator('.wf-row').count();
  assert(inDom < 200, `${inDom} rows in the DOM: the list is not virtualised`);
  // Jump to the end with the keyboard and time it.
  await page.locator('.wf-row').first().click();
  await page.getByTestId('waterfall-scroll').focus();
  const t1 = Date.now();
  await page.keyboard.press('End');
  await waitFor(
    () => page.evaluate(() => {
      const rows = [...document.querySelectorAll('.wf-row')];
      return rows.some((r) => r.classList.contains('selected') && r.textContent.includes('SELECT row'));
    }),
    { what: 'last row selected and visible', timeout: 10_000 },
  );
  const endMs = Date.now() - t1;
  // Scroll through the middle: frames must keep coming.
  const t2 = Date.now();
  for (let i = 0; i < 20; i++) await page.mouse.wheel(0, -4000);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  const scrollMs = Date.now() - t2;
  log(`      20k spans: shown in ${loadMs} ms, End in ${endMs} ms, 20 wheel scrolls in ${scrollMs} ms, ${inDom} rows in the DOM`);
  assert(endMs < 3000 && scrollMs < 5000, `too slow: End ${endMs} ms, scroll ${scrollMs} ms`);
  await shot(page, 'trace-20k-spans-light');
});

// Last: it adds 300 services to the server's data.
test('a 300-service map stays usable (layout, search, zoom)', async (page) => {
  const many = manyServices({ count: 300 });
  await postOTLP(many.requests);
  const before = ctx.graph.nodes.length;
  const g = await waitFor(
    async () => {
      const gr = await getJSON(ctx.base, '/api/v1/servicegraph');
      return gr.nodes.length >= before + 300 && gr.edges.length >= ctx.graph.edges.length + 500 ? gr : null;
    },
    { timeout: 90_000, interval: 1000, what: '300 more services with their edges' },
  );
  const t0 = Date.now();
  await page.goto(`${ctx.base}/`);
  await waitFor(() => page.evaluate((n) => (window.__tracehoundCy?.nodes().length ?? 0) >= n, g.nodes.length), { what: 'all nodes drawn', timeout: 30_000 });
  const shownMs = Date.now() - t0;
  // Search: type a few characters, pick with the keyboard.
  const box = page.getByRole('combobox', { name: 'Find a service or node' });
  await box.fill('svc-123');
  await page.getByRole('option', { name: /svc-123/ }).waitFor();
  await page.keyboard.press('Enter');
  const details = page.getByTestId('node-details');
  await details.waitFor();
  assert((await details.innerText()).includes('svc-123'), 'search did not select svc-123');
  // Zoom controls change the zoom level.
  const z0 = await page.evaluate(() => window.__tracehoundCy.zoom());
  await page.getByRole('button', { name: 'Zoom in' }).click();
  await page.getByRole('button', { name: 'Zoom in' }).click();
  const z1 = await page.evaluate(() => window.__tracehoundCy.zoom());
  assert(z1 > z0 * 1.4, `zoom in: ${z0} → ${z1}`);
  // A wheel zoom and a pan keep the page responsive.
  const t1 = Date.now();
  const box2 = await page.getByTestId('map-canvas').boundingBox();
  await page.mouse.move(box2.x + box2.width / 2, box2.y + box2.height / 2);
  for (let i = 0; i < 10; i++) await page.mouse.wheel(0, i < 5 ? 300 : -300);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  const wheelMs = Date.now() - t1;
  log(`      ${g.nodes.length} nodes, ${g.edges.length} edges: drawn in ${shownMs} ms, 10 wheel zooms in ${wheelMs} ms`);
  assert(shownMs < 15_000 && wheelMs < 5_000, `too slow: drawn in ${shownMs} ms, wheel ${wheelMs} ms`);
  await page.getByRole('button', { name: 'Fit to screen' }).click();
  await shot(page, 'map-300-services-light');
  // The neighbourhood view cuts it down to a readable size.
  await page.getByTestId('node-details').getByRole('button', { name: 'Show neighbourhood' }).click();
  await waitFor(() => page.evaluate(() => window.__tracehoundCy.nodes().length < 20), { what: 'neighbourhood of svc-123' });
  await shot(page, 'map-300-services-neighbourhood-light');
});

async function postOTLP(requests) {
  for (const body of requests) {
    const res = await fetch(`${ctx.otlpHttp}/v1/traces`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`OTLP export: ${res.status} ${await res.text()}`);
  }
}

// ---------------------------------------------------------------- main

async function feed(server) {
  log(`> tracehound demo --endpoint ${server.grpc} --duration 0 --traces 60 --seed 1`);
  await run(BIN, ['demo', '--endpoint', server.grpc, '--duration', '0', '--traces', '60', '--seed', '1']);
  const big = bigTrace();
  log(`> POST ${big.requests.length} OTLP/JSON requests: trace ${big.traceId} with ${big.spanCount} spans`);
  for (const body of big.requests) {
    const res = await fetch(`${server.otlpHttp}/v1/traces`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`OTLP export: ${res.status} ${await res.text()}`);
  }
  return big;
}

async function waitForData(base, big) {
  log('> waiting for the planted findings and the service graph');
  const t0 = Date.now();
  const findings = await waitFor(
    async () => {
      const f = (await getJSON(base, '/api/v1/findings')).findings;
      const chatty = f.find((x) => x.kind === 'chatty' && x.evidence?.pattern === 'n_plus_one' && x.peer === 'inventory-service');
      const slow = f.find((x) => x.kind === 'bottleneck' && x.service === 'payments-service');
      const big = f.find((x) => x.kind === 'oversized_payload' && x.service === 'catalog-service' && x.peer === 'image-service');
      return chatty && slow && big ? f : null;
    },
    { timeout: 120_000, interval: 1000, what: 'findings (N+1, slow query, 5 MiB payloads)' },
  );
  const graph = await waitFor(
    async () => {
      const g = await getJSON(base, '/api/v1/servicegraph');
      const has = (s, t) => g.edges.some((e) => e.source === s && e.target === t);
      return has('orders-service', 'inventory-service') && has('catalog-service', 'image-service') ? g : null;
    },
    { timeout: 60_000, interval: 1000, what: 'service graph edges' },
  );
  await waitFor(async () => (await getJSON(base, `/api/v1/traces/${big.traceId}`)).spans.length === big.spanCount, {
    timeout: 60_000,
    interval: 1000,
    what: `all ${big.spanCount} spans of the big trace`,
  });
  // Wait until the analyzer has finished with the burst (findings stop
  // changing), so the UI and the assertions see the same data.
  const digest = (f) => JSON.stringify(f.map((x) => [x.id, x.occurrences, x.example_trace_ids]));
  let final = (await getJSON(base, '/api/v1/findings')).findings;
  await waitFor(
    async () => {
      await new Promise((r) => setTimeout(r, 2000));
      const next = (await getJSON(base, '/api/v1/findings')).findings;
      const stable = digest(next) === digest(final);
      final = next;
      return stable;
    },
    { timeout: 60_000, interval: 0, what: 'findings to stop changing' },
  );
  log(`  ready after ${Date.now() - t0} ms: ${final.length} findings, ${graph.nodes.length} nodes, ${graph.edges.length} edges`);
  return { findings: final.length >= findings.length ? final : findings, graph: await getJSON(base, '/api/v1/servicegraph') };
}

async function main() {
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const f of readdirSync(ARTIFACTS)) if (f.endsWith('.png')) rmSync(path.join(ARTIFACTS, f));
  const tmp = mkdtempSync(path.join(tmpdir(), 'tracehound-ui-e2e-'));
  let server;
  let context;
  let passed = 0;
  let failed = 0;
  try {
    if (process.env.TRACEHOUND_URL) {
      server = { base: process.env.TRACEHOUND_URL.replace(/\/$/, ''), otlpHttp: process.env.TRACEHOUND_OTLP_HTTP };
      log(`> using the running server at ${server.base}`);
      ctx.big = bigTrace();
      for (const body of ctx.big.requests) {
        await fetch(`${server.otlpHttp}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      }
    } else {
      assert(existsSync(BIN), `${BIN} not found: run make build`);
      assert(existsSync(CHROMIUM), `${CHROMIUM} not found: apt-get install -y chromium`);
      ctx.webhook = await startWebhook();
      log(`> ${BIN} serve (data in ${tmp}), alerts to the webhook at ${ctx.webhook.url}`);
      server = await startServer(tmp, ctx.webhook.url);
      log(`  UI and API at ${server.base}, OTLP gRPC ${server.grpc}`);
      const index = await fetch(`${server.base}/`).then((r) => r.text());
      assert(index.includes('id="root"'), `the binary serves no built UI at / (got: ${index.slice(0, 120)}); build it with make build`);
      ctx.big = await feed(server);
    }
    ctx.base = server.base;
    ctx.otlpHttp = server.otlpHttp;
    const data = await waitForData(server.base, ctx.big);
    ctx.findings = data.findings;
    ctx.graph = data.graph;
    ctx.services = (await getJSON(server.base, '/api/v1/services')).services;
    ctx.chatty = ctx.findings.find((x) => x.kind === 'chatty' && x.evidence?.pattern === 'n_plus_one' && x.peer === 'inventory-service');

    context = await chromium.launchPersistentContext(path.join(tmp, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: VIEWPORT,
      colorScheme: 'light',
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    const pageErrors = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of (400|404)/.test(msg.text())) {
        pageErrors.push(`console: ${msg.text()}`);
      }
    });

    for (const t of tests) {
      if (FILTER && !t.name.includes(FILTER)) continue;
      const t0 = Date.now();
      pageErrors.length = 0;
      try {
        await t.fn(page);
        assert(pageErrors.length === 0, `errors in the page: ${pageErrors.join(' | ')}`);
        passed++;
        log(`ok   ${t.name} (${Date.now() - t0} ms)`);
      } catch (err) {
        failed++;
        log(`FAIL ${t.name} (${Date.now() - t0} ms)\n     ${String(err.stack || err).split('\n').slice(0, 6).join('\n     ')}`);
        const name = `FAILED-${t.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;
        await shot(page, name).catch(() => {});
      }
    }
  } catch (err) {
    failed++;
    log(`FAIL set-up\n     ${String(err.stack || err)}`);
  } finally {
    await context?.close().catch(() => {});
    if (server?.proc) {
      writeFileSync(path.join(ARTIFACTS, 'server.log'), server.output());
      await stopServer(server);
    }
    ctx.webhook?.server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  log(`screenshots: ${ARTIFACTS}`);
  log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
