package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Service names of the simulated shop.
const (
	svcFrontend  = "web-frontend"
	svcGateway   = "api-gateway"
	svcCatalog   = "catalog-service"
	svcImage     = "image-service"
	svcSearch    = "search-service"
	svcReviews   = "reviews-service"
	svcRecs      = "recommendations-service"
	svcCart      = "cart-service"
	svcCheckout  = "checkout-service"
	svcPayments  = "payments-service"
	svcInventory = "inventory-service"
	svcShipping  = "shipping-service"
	svcOrders    = "orders-service"
	svcNotify    = "notification-service"
	svcEmail     = "email-worker"
)

// Uninstrumented peers.
const (
	dbNamespace   = "shop"
	pgHost        = "postgres"
	pgPort        = 5432
	redisHost     = "redis"
	redisPort     = 6379
	kafkaHost     = "kafka"
	kafkaPort     = 9092
	ordersTopic   = "orders"
	stripeHost    = "api.stripe.com"
	sendgridHost  = "api.sendgrid.com"
	fcmHost       = "fcm.googleapis.com"
	httpPort      = 8080
	grpcPort      = 50051
	frontendHost  = "shop.example.com"
	bigImageBytes = 5 << 20 // 5242880
	mediumBytes   = 300 << 10
	nPlusOneCalls = 10
	repeatedCalls = 3
	slowLedgerSQL = "SELECT * FROM ledger WHERE account_id = ?"
)

// defaultFailProb is the probability that one call fails on its own: about
// 1 % of requests fail somewhere.
const defaultFailProb = 0.0015

// serviceInfo describes one instrumented service.
type serviceInfo struct {
	name    string
	version string
	ip      string
}

// serviceTable returns the instrumented services with their versions and pod
// addresses.
func serviceTable() []serviceInfo {
	names := []struct{ name, version string }{
		{svcFrontend, "2.14.1"},
		{svcGateway, "1.9.3"},
		{svcCatalog, "3.2.0"},
		{svcImage, "1.4.7"},
		{svcSearch, "2.0.5"},
		{svcReviews, "1.1.2"},
		{svcRecs, "0.9.8"},
		{svcCart, "2.3.1"},
		{svcCheckout, "4.0.2"},
		{svcPayments, "5.1.0"},
		{svcInventory, "2.7.4"},
		{svcShipping, "1.5.3"},
		{svcOrders, "3.8.0"},
		{svcNotify, "1.2.6"},
		{svcEmail, "0.7.1"},
	}
	out := make([]serviceInfo, len(names))
	for i, n := range names {
		out[i] = serviceInfo{name: n.name, version: n.version, ip: fmt.Sprintf("10.42.%d.%d", 1+i/8, 10+i)}
	}
	return out
}

// scenario is the kind of user request a trace simulates.
type scenario int

const (
	scCheckout scenario = iota
	scOrderHistory
	scProductPage
	scSearch
	scCart
	scDashboard
)

// traceInfo is one planned request and the patterns it contains.
type traceInfo struct {
	root     *spanPlan
	scenario scenario
	failed   bool

	nPlusOne, slowDB, bigPayload                                              bool
	asyncConsumer, gatewayFanIn, parallelFanOut, repeatedCalls, mediumPayload bool
}

// handler simulates the work of a server (or consumer) span starting at t
// and returns when the work is done and whether it failed.
type handler func(srv *spanPlan, t time.Duration) (time.Duration, bool)

// builder plans requests. It owns the random source; it is used from one
// goroutine only.
type builder struct {
	rng      *rand.Rand
	opts     Options
	ips      map[string]string
	failProb float64
}

func newBuilder(opts Options, seed int64) *builder {
	ips := map[string]string{}
	for _, s := range serviceTable() {
		ips[s.name] = s.ip
	}
	ips[pgHost] = "10.42.9.5"
	ips[redisHost] = "10.42.9.6"
	ips[kafkaHost] = "10.42.9.7"
	return &builder{
		rng:      rand.New(rand.NewPCG(uint64(seed), 0x7472616365686f75)),
		opts:     opts,
		ips:      ips,
		failProb: defaultFailProb,
	}
}

// ---------------------------------------------------------------- randomness

// lat returns a log-normal duration with the given median; sigma is the
// standard deviation of its logarithm. Values are clamped to ±3 sigma.
func (b *builder) lat(median time.Duration, sigma float64) time.Duration {
	z := max(-3, min(3, b.rng.NormFloat64()))
	return time.Duration(float64(median) * math.Exp(sigma*z))
}

// ms is lat with a median in milliseconds.
func (b *builder) ms(median, sigma float64) time.Duration {
	return b.lat(time.Duration(median*float64(time.Millisecond)), sigma)
}

// net is one network hop inside the cluster.
func (b *builder) net() time.Duration { return b.ms(0.45, 0.3) }

// size returns a log-normal byte count with the given median.
func (b *builder) size(median, sigma float64) int64 {
	z := max(-3, min(3, b.rng.NormFloat64()))
	return int64(median * math.Exp(sigma*z))
}

// around returns v ± delta, uniformly.
func (b *builder) around(v, delta int64) int64 { return v - delta + b.rng.Int64N(2*delta+1) }

// id returns a decimal id in [lo, hi].
func (b *builder) id(lo, hi int) string { return strconv.Itoa(lo + b.rng.IntN(hi-lo+1)) }

// chance reports true with probability p.
func (b *builder) chance(p float64) bool { return b.rng.Float64() < p }

// distinctIDs returns n distinct ids in [lo, hi].
func (b *builder) distinctIDs(n, lo, hi int) []string {
	seen := map[string]bool{}
	out := make([]string, 0, n)
	for len(out) < n {
		s := b.id(lo, hi)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (b *builder) pick(xs []string) string { return xs[b.rng.IntN(len(xs))] }

// --------------------------------------------------------------- primitives

// httpReq is one HTTP request between two services.
type httpReq struct {
	method string
	path   string // concrete path, e.g. /items/48213
	query  string // without '?'
	route  string // template, e.g. /items/{id}
	// reqBody and respBody are body sizes in bytes (reqBody 0 = no body).
	reqBody, respBody int64
}

func (r httpReq) url(host string, port int) string {
	u := fmt.Sprintf("http://%s:%d%s", host, port, r.path)
	if r.query != "" {
		u += "?" + r.query
	}
	return u
}

// httpCall plans a CLIENT span of from's service calling service to at t,
// the SERVER span it causes (whose work h simulates), and returns the end of
// the client span and whether the call failed. The client span is named
// "METHOD /concrete/path", the server span "METHOD /route/{template}".
func (b *builder) httpCall(from *spanPlan, to string, r httpReq, t time.Duration, h handler) (time.Duration, bool) {
	cl := from.add(&spanPlan{service: from.service, name: r.method + " " + r.path, kind: trace.SpanKindClient, start: t})
	srv := cl.add(&spanPlan{service: to, name: r.method + " " + r.route, kind: trace.SpanKindServer, start: t + b.net()})
	end, failed := srv.start+b.ms(0.25, 0.3), false
	if h != nil {
		end, failed = h(srv, end)
	}
	status, resp := 200, r.respBody
	if r.method == "POST" {
		status = 201
	}
	switch {
	case failed:
		status, resp = 500, b.size(180, 0.2)
		srv.errMsg = "upstream call failed"
	case b.chance(b.failProb):
		failed = true
		status, resp = b.failure(srv, end)
	}
	srv.end = end + b.ms(0.2, 0.3)
	cl.end = srv.end + b.net()

	common := []attribute.KeyValue{
		attribute.String("http.request.method", r.method),
		attribute.Int("http.response.status_code", status),
		attribute.String("network.protocol.version", "1.1"),
		attribute.Int64("http.response.body.size", resp),
	}
	if r.reqBody > 0 {
		common = append(common, attribute.Int64("http.request.body.size", r.reqBody))
	}
	if failed {
		common = append(common, attribute.String("error.type", strconv.Itoa(status)))
		cl.errMsg = fmt.Sprintf("HTTP %d", status)
	}
	cl.set(common...)
	cl.set(
		attribute.String("url.full", r.url(to, httpPort)),
		attribute.String("url.template", r.route),
		attribute.String("server.address", to),
		attribute.Int("server.port", httpPort),
		attribute.String("network.peer.address", b.ips[to]),
		attribute.Int("network.peer.port", httpPort),
		attribute.String("user_agent.original", "Go-http-client/1.1"),
	)
	srv.set(common...)
	srv.set(
		attribute.String("http.route", r.route),
		attribute.String("url.path", r.path),
		attribute.String("url.scheme", "http"),
		attribute.String("server.address", to),
		attribute.Int("server.port", httpPort),
		attribute.String("client.address", b.ips[from.service]),
		attribute.String("user_agent.original", "Go-http-client/1.1"),
	)
	if r.query != "" {
		srv.set(attribute.String("url.query", r.query))
	}
	return cl.end, failed
}

// failure marks srv as failing on its own at t with an exception event and
// returns the HTTP status and error body size.
func (b *builder) failure(srv *spanPlan, t time.Duration) (int, int64) {
	kinds := []struct {
		status      int
		typ, detail string
	}{
		{503, "context.DeadlineExceeded", "context deadline exceeded"},
		{500, "*pgconn.PgError", "ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)"},
		{503, "*net.OpError", "dial tcp: connect: connection refused"},
	}
	k := kinds[b.rng.IntN(len(kinds))]
	srv.errMsg = k.detail
	srv.events = append(srv.events, eventPlan{name: "exception", at: t, attrs: []attribute.KeyValue{
		attribute.String("exception.type", k.typ),
		attribute.String("exception.message", k.detail),
	}})
	return k.status, b.size(160, 0.2)
}

// grpcCall plans a gRPC CLIENT span and the SERVER span it causes; both are
// named "service/Method".
func (b *builder) grpcCall(from *spanPlan, to, service, method string, reqSize, respSize int64, t time.Duration, h handler) (time.Duration, bool) {
	name := service + "/" + method
	cl := from.add(&spanPlan{service: from.service, name: name, kind: trace.SpanKindClient, start: t})
	srv := cl.add(&spanPlan{service: to, name: name, kind: trace.SpanKindServer, start: t + b.net()})
	end, failed := srv.start+b.ms(0.15, 0.3), false
	if h != nil {
		end, failed = h(srv, end)
	}
	code, codeName := 0, "OK"
	switch {
	case failed:
		code, codeName = 13, "INTERNAL"
		srv.errMsg = "upstream call failed"
	case b.chance(b.failProb):
		failed = true
		b.failure(srv, end)
		code, codeName = 14, "UNAVAILABLE"
	}
	srv.end = end + b.ms(0.1, 0.3)
	cl.end = srv.end + b.net()
	common := []attribute.KeyValue{
		attribute.String("rpc.system", "grpc"),
		attribute.String("rpc.service", service),
		attribute.String("rpc.method", method),
		attribute.Int("rpc.grpc.status_code", code),
		attribute.String("network.transport", "tcp"),
		attribute.String("network.protocol.name", "http"),
		attribute.String("network.protocol.version", "2"),
	}
	if failed {
		common = append(common, attribute.String("error.type", codeName))
		cl.errMsg = codeName
	}
	cl.set(common...)
	cl.set(
		attribute.String("server.address", to),
		attribute.Int("server.port", grpcPort),
		attribute.String("network.peer.address", b.ips[to]),
	)
	srv.set(common...)
	srv.set(
		attribute.String("server.address", to),
		attribute.Int("server.port", grpcPort),
		attribute.String("client.address", b.ips[from.service]),
	)
	// rpc.message events: the client sends the request and receives the
	// response; the server receives the request and sends the response.
	msg := func(sp *spanPlan, at time.Duration, typ string, size int64) {
		sp.events = append(sp.events, eventPlan{name: "message", at: at, attrs: []attribute.KeyValue{
			attribute.String("rpc.message.type", typ),
			attribute.Int("rpc.message.id", 1),
			attribute.Int64("rpc.message.uncompressed_size", size),
		}})
	}
	msg(cl, cl.start, "SENT", reqSize)
	msg(cl, cl.end, "RECEIVED", respSize)
	msg(srv, srv.start, "RECEIVED", reqSize)
	msg(srv, srv.end, "SENT", respSize)
	return cl.end, failed
}

// dbQuery is one database statement.
type dbQuery struct {
	system    string // postgresql or redis
	op        string // db.operation.name
	table     string // db.collection.name (empty for redis)
	text      string // db.query.text, parameterised
	rows      int    // rows returned (SELECT)
	namespace string
	summary   string // db.query.summary when there is no table (redis)
}

func pg(op, table, text string, rows int) dbQuery {
	return dbQuery{system: "postgresql", op: op, table: table, text: text, rows: rows, namespace: dbNamespace}
}

// redis is a Redis command; summary (e.g. "HGETALL cart") names the span.
func redis(op, text, summary string) dbQuery {
	return dbQuery{system: "redis", op: op, text: text, namespace: "0", summary: summary}
}

// db plans a database CLIENT span (the database itself is not
// instrumented) of duration d starting at t and returns its end.
func (b *builder) db(from *spanPlan, t, d time.Duration, q dbQuery) time.Duration {
	name, host, port := q.op+" "+q.table, pgHost, pgPort
	if q.system == "redis" {
		name, host, port = q.summary, redisHost, redisPort
	}
	sp := from.add(&spanPlan{service: from.service, name: name, kind: trace.SpanKindClient, start: t, end: t + d})
	sp.set(
		attribute.String("db.system.name", q.system),
		attribute.String("db.namespace", q.namespace),
		attribute.String("db.operation.name", q.op),
		attribute.String("db.query.text", q.text),
		attribute.String("server.address", host),
		attribute.Int("server.port", port),
		attribute.String("network.peer.address", b.ips[host]),
		attribute.Int("network.peer.port", port),
	)
	if q.table != "" {
		sp.set(attribute.String("db.collection.name", q.table))
	}
	sp.set(attribute.String("db.query.summary", name))
	if q.op == "SELECT" || q.op == "HGETALL" {
		sp.set(attribute.Int("db.response.returned_rows", q.rows))
	}
	return sp.end
}

// external plans a CLIENT span to an uninstrumented HTTPS API.
func (b *builder) external(from *spanPlan, host string, r httpReq, t, d time.Duration) (time.Duration, bool) {
	sp := from.add(&spanPlan{service: from.service, name: r.method + " " + r.path, kind: trace.SpanKindClient, start: t, end: t + d})
	status, failed := 200, false
	if b.chance(b.failProb) {
		status, failed = 503, true
		sp.errMsg = "HTTP 503"
	}
	sp.set(
		attribute.String("http.request.method", r.method),
		attribute.String("url.full", "https://"+host+r.path),
		attribute.String("url.template", r.route),
		attribute.String("server.address", host),
		attribute.Int("server.port", 443),
		attribute.Int("http.response.status_code", status),
		attribute.String("network.protocol.version", "2"),
		attribute.Int64("http.request.body.size", r.reqBody),
		attribute.Int64("http.response.body.size", r.respBody),
		attribute.String("user_agent.original", "Go-http-client/2.0"),
	)
	if failed {
		sp.set(attribute.String("error.type", "503"))
	}
	return sp.end, failed
}

// produce plans a Kafka PRODUCER span publishing one message to topic.
func (b *builder) produce(from *spanPlan, t time.Duration, topic, key string, size int64) *spanPlan {
	sp := from.add(&spanPlan{service: from.service, name: "send " + topic, kind: trace.SpanKindProducer, start: t})
	sp.end = t + b.ms(2.2, 0.3)
	sp.set(
		attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.destination.name", topic),
		attribute.String("messaging.operation.type", "send"),
		attribute.String("messaging.operation.name", "send"),
		attribute.String("messaging.client.id", from.service+"-producer"),
		attribute.String("messaging.kafka.message.key", key),
		attribute.String("messaging.destination.partition.id", strconv.Itoa(b.rng.IntN(6))),
		attribute.Int64("messaging.message.body.size", size),
		attribute.String("server.address", kafkaHost),
		attribute.Int("server.port", kafkaPort),
	)
	return sp
}

// consume plans a Kafka CONSUMER span of service for a message produced by
// producer: a child of the producer span, or (linked) the root of a new
// trace with a link to it.
func (b *builder) consume(producer *spanPlan, service string, start time.Duration, linked bool, h handler) *spanPlan {
	sp := producer.add(&spanPlan{service: service, name: "process " + ordersTopic, kind: trace.SpanKindConsumer, start: start, linked: linked})
	end, failed := h(sp, start+b.ms(0.3, 0.3))
	sp.end = end + b.ms(0.3, 0.3)
	if failed {
		sp.errMsg = "handler failed"
		sp.set(attribute.String("error.type", "handler_error"))
	}
	for _, kv := range producer.attrs {
		switch kv.Key {
		case "messaging.kafka.message.key", "messaging.destination.partition.id", "messaging.message.body.size":
			sp.set(kv)
		}
	}
	sp.set(
		attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.destination.name", ordersTopic),
		attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.operation.name", "process"),
		attribute.String("messaging.consumer.group.name", service),
		attribute.Int64("messaging.kafka.offset", 100000+b.rng.Int64N(900000)),
		attribute.String("server.address", kafkaHost),
		attribute.Int("server.port", kafkaPort),
	)
	return sp
}

// --------------------------------------------------------------- edge layer

// frontend plans the root SERVER span of web-frontend for a browser request.
func (b *builder) frontend(ti *traceInfo, method, path, query, route string, respBody int64, h handler) {
	root := &spanPlan{service: svcFrontend, name: method + " " + route, kind: trace.SpanKindServer}
	end, failed := h(root, b.ms(0.9, 0.3))
	root.end = end + b.ms(2.5, 0.4) // render
	status := 200
	if failed {
		status, respBody = 500, b.size(2100, 0.1)
		root.errMsg = "upstream call failed"
	}
	agents := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:142.0) Gecko/20100101 Firefox/142.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
	}
	root.set(
		attribute.String("http.request.method", method),
		attribute.String("http.route", route),
		attribute.String("url.path", path),
		attribute.String("url.scheme", "https"),
		attribute.String("server.address", frontendHost),
		attribute.Int("server.port", 443),
		attribute.String("client.address", fmt.Sprintf("203.0.113.%d", 1+b.rng.IntN(254))),
		attribute.String("user_agent.original", b.pick(agents)),
		attribute.String("network.protocol.version", "2"),
		attribute.Int("http.response.status_code", status),
		attribute.Int64("http.response.body.size", respBody),
	)
	if query != "" {
		root.set(attribute.String("url.query", query))
	}
	if failed {
		root.set(attribute.String("error.type", "500"))
	}
	ti.root, ti.failed = root, failed
}

// viaGateway plans a browser request to web-frontend that calls api-gateway,
// whose routing work gw simulates.
func (b *builder) viaGateway(ti *traceInfo, method, path, query, route, gwPath, gwRoute string, reqBody, respBody int64, gw handler) {
	b.frontend(ti, method, path, query, route, respBody, func(fe *spanPlan, t time.Duration) (time.Duration, bool) {
		r := httpReq{method: method, path: gwPath, query: query, route: gwRoute, reqBody: reqBody, respBody: b.size(float64(respBody)*0.6, 0.1)}
		return b.httpCall(fe, svcGateway, r, t, func(g *spanPlan, t time.Duration) (time.Duration, bool) {
			end, failed := gw(g, t+b.ms(0.6, 0.3)) // authenticate
			return end + b.ms(0.3, 0.3), failed
		})
	})
}

// work is a handler with only self time.
func (b *builder) work(median, sigma float64) handler {
	return func(_ *spanPlan, t time.Duration) (time.Duration, bool) { return t + b.ms(median, sigma), false }
}

// ---------------------------------------------------------------- scenarios

// plan builds one request of the given scenario.
func (b *builder) plan(sc scenario) *traceInfo {
	ti := &traceInfo{scenario: sc}
	switch sc {
	case scProductPage:
		b.productPage(ti)
	case scSearch:
		b.search(ti)
	case scCart:
		b.cart(ti)
	case scCheckout:
		b.checkout(ti)
	case scOrderHistory:
		b.orderHistory(ti)
	case scDashboard:
		b.dashboard(ti)
	}
	return ti
}

// productPage: web-frontend GET /product/{id} → api-gateway →
// catalog-service (postgresql, image-service) and reviews-service.
func (b *builder) productPage(ti *traceInfo) {
	id := b.id(1000, 9999)
	b.viaGateway(ti, "GET", "/product/"+id, "", "/product/{id}", "/api/products/"+id, "/api/products/{id}", 0, b.size(48000, 0.2),
		func(gw *spanPlan, t time.Duration) (time.Duration, bool) {
			t, f1 := b.httpCall(gw, svcCatalog, httpReq{method: "GET", path: "/products/" + id, route: "/products/{id}", respBody: b.size(6200, 0.3)}, t,
				func(srv *spanPlan, t time.Duration) (time.Duration, bool) {
					t = b.db(srv, t, b.ms(3, 0.35), pg("SELECT", "products", "SELECT id, name, description, price_cents, image_id FROM products WHERE id = ?", 1))
					resp, median := b.size(82000, 0.3), 9.0
					if b.opts.BigPayload {
						resp, median = b.around(bigImageBytes, 1024), 34
					}
					img := b.id(100000, 999999)
					t, failed := b.httpCall(srv, svcImage, httpReq{method: "GET", path: "/images/" + img, route: "/images/{id}", respBody: resp}, t+b.ms(0.2, 0.3), b.work(median, 0.2))
					ti.bigPayload = b.opts.BigPayload && !failed // a failed call returns a small error body
					return t + b.ms(0.8, 0.3), failed
				})
			t, f2 := b.httpCall(gw, svcReviews, httpReq{method: "GET", path: "/reviews", query: "product_id=" + id + "&limit=10", route: "/reviews", respBody: b.size(9000, 0.3)}, t+b.ms(0.2, 0.3),
				func(srv *spanPlan, t time.Duration) (time.Duration, bool) {
					t = b.db(srv, t, b.ms(5, 0.4), pg("SELECT", "reviews", "SELECT id, rating, title, body FROM reviews WHERE product_id = ? ORDER BY created_at DESC LIMIT 10", 10))
					return t + b.ms(1, 0.3), false
				})
			return t, f1 || f2
		})
	ti.root.set(attribute.String("app.product.id", id))
}

// search: web-frontend GET /search → api-gateway → search-service, which
// fans out in parallel to catalog-service (≈300 KiB), reviews-service and
// recommendations-service (decoys), or calls only catalog-service.
func (b *builder) search(ti *traceInfo) {
	terms := []string{"running shoes", "espresso machine", "usb-c cable", "rain jacket", "headphones", "desk lamp"}
	q := "q=" + strings.ReplaceAll(b.pick(terms), " ", "+")
	b.viaGateway(ti, "GET", "/search", q, "/search", "/api/search", "/api/search", 0, b.size(36000, 0.2),
		func(gw *spanPlan, t time.Duration) (time.Duration, bool) {
			return b.httpCall(gw, svcSearch, httpReq{method: "GET", path: "/search", query: q + "&limit=24", route: "/search", respBody: b.size(24000, 0.2)}, t,
				func(srv *spanPlan, t time.Duration) (time.Duration, bool) {
					t += b.ms(2, 0.3) // query parsing and index lookup
					ids := strings.Join(b.distinctIDs(24, 1000, 9999), ",")
					catalog := func(resp int64) handler {
						return func(c *spanPlan, t time.Duration) (time.Duration, bool) {
							t = b.db(c, t, b.ms(9, 0.3), pg("SELECT", "products", "SELECT id, name, price_cents, image_id FROM products WHERE id = ANY(?)", 24))
							return t + b.ms(float64(resp)/30000, 0.2), false // serialisation
						}
					}
					if !b.opts.Decoys {
						resp := b.size(18000, 0.2)
						end, failed := b.httpCall(srv, svcCatalog, httpReq{method: "GET", path: "/products", query: "ids=" + ids, route: "/products", respBody: resp}, t, catalog(resp))
						return end + b.ms(1.5, 0.3), failed
					}
					resp := b.around(mediumBytes, 512)
					e1, f1 := b.httpCall(srv, svcCatalog, httpReq{method: "GET", path: "/products", query: "ids=" + ids, route: "/products", respBody: resp}, t, catalog(resp))
					ti.parallelFanOut, ti.mediumPayload = true, !f1
					t2 := t + b.ms(0.15, 0.3)
					e2, f2 := b.httpCall(srv, svcReviews, httpReq{method: "GET", path: "/reviews/summary", query: "product_ids=" + ids, route: "/reviews/summary", respBody: b.size(3500, 0.2)}, t2,
						func(r *spanPlan, t time.Duration) (time.Duration, bool) {
							t = b.db(r, t, b.ms(14, 0.3), pg("SELECT", "reviews", "SELECT product_id, avg(rating), count(*) FROM reviews WHERE product_id = ANY(?) GROUP BY product_id", 24))
							return t + b.ms(1, 0.3), false
						})
					t3 := t2 + b.ms(0.15, 0.3)
					e3, f3 := b.httpCall(srv, svcRecs, httpReq{method: "GET", path: "/recommendations/similar", query: q, route: "/recommendations/similar", respBody: b.size(5200, 0.2)}, t3,
						func(r *spanPlan, t time.Duration) (time.Duration, bool) {
							t = b.db(r, t, b.ms(0.8, 0.3), redis("GET", "GET embeddings:?", "GET embeddings"))
							return t + b.ms(24, 0.25), false // model scoring
						})
					return max(e1, e2, e3) + b.ms(1.5, 0.3), f1 || f2 || f3
				})
		})
}

// cartHandler is cart-service GET /cart/{userId}: redis, then the stock of
// each item from inventory-service (three sequential calls with decoys,
// one batched call without).
func (b *builder) cartHandler(ti *traceInfo) handler {
	return func(srv *spanPlan, t time.Duration) (time.Duration, bool) {
		t = b.db(srv, t, b.ms(0.7, 0.3), redis("HGETALL", "HGETALL cart:?", "HGETALL cart"))
		skus := b.distinctIDs(repeatedCalls, 10000, 99999)
		stock := func(rows int) handler {
			return func(inv *spanPlan, t time.Duration) (time.Duration, bool) {
				t = b.db(inv, t, b.ms(1.8, 0.3), pg("SELECT", "stock", "SELECT sku, available FROM stock WHERE sku = ANY(?)", rows))
				return t + b.ms(0.6, 0.3), false
			}
		}
		failed := false
		if b.opts.Decoys {
			ti.repeatedCalls = true
			for _, sku := range skus {
				var f bool
				t, f = b.httpCall(srv, svcInventory, httpReq{method: "GET", path: "/stock/" + sku, route: "/stock/{id}", respBody: b.size(140, 0.1)}, t+b.ms(0.2, 0.3), stock(1))
				failed = failed || f
			}
		} else {
			t, failed = b.httpCall(srv, svcInventory, httpReq{method: "GET", path: "/stock", query: "skus=" + strings.Join(skus, ","), route: "/stock", respBody: b.size(400, 0.1)}, t+b.ms(0.2, 0.3), stock(repeatedCalls))
		}
		return t + b.ms(0.8, 0.3), failed
	}
}

// cart: web-frontend GET /cart → api-gateway → cart-service.
func (b *builder) cart(ti *traceInfo) {
	user := b.id(10000, 99999)
	b.viaGateway(ti, "GET", "/cart", "", "/cart", "/api/cart", "/api/cart", 0, b.size(22000, 0.2),
		func(gw *spanPlan, t time.Duration) (time.Duration, bool) {
			return b.httpCall(gw, svcCart, httpReq{method: "GET", path: "/cart/" + user, route: "/cart/{userId}", respBody: b.size(1800, 0.2)}, t, b.cartHandler(ti))
		})
	ti.root.set(attribute.String("enduser.id", user))
}

// checkout: web-frontend POST /checkout → api-gateway → checkout-service →
// cart-service, inventory-service (gRPC), payments-service (gRPC; postgresql
// ledger and api.stripe.com), shipping-service, orders-service, then a Kafka
// message to "orders" consumed by email-worker and notification-service.
func (b *builder) checkout(ti *traceInfo) {
	user := b.id(10000, 99999)
	order := b.id(1000000, 9999999)
	var producer *spanPlan
	body := b.size(2300, 0.2)
	b.viaGateway(ti, "POST", "/checkout", "", "/checkout", "/api/checkout", "/api/checkout", body, b.size(5200, 0.1),
		func(gw *spanPlan, t time.Duration) (time.Duration, bool) {
			return b.httpCall(gw, svcCheckout, httpReq{method: "POST", path: "/checkout", route: "/checkout", reqBody: body, respBody: b.size(900, 0.1)}, t,
				func(srv *spanPlan, t time.Duration) (time.Duration, bool) {
					t += b.ms(0.8, 0.3) // validation
					t, f1 := b.httpCall(srv, svcCart, httpReq{method: "GET", path: "/cart/" + user, route: "/cart/{userId}", respBody: b.size(1800, 0.2)}, t, b.cartHandler(ti))
					t, f2 := b.grpcCall(srv, svcInventory, "inventory.InventoryService", "Reserve", b.size(260, 0.2), b.size(90, 0.1), t+b.ms(0.3, 0.3),
						func(inv *spanPlan, t time.Duration) (time.Duration, bool) {
							t = b.db(inv, t, b.ms(4, 0.35), pg("UPDATE", "stock", "UPDATE stock SET reserved = reserved + ? WHERE sku = ? AND available - reserved >= ?", 0))
							return t + b.ms(0.5, 0.3), false
						})
					t, f3 := b.grpcCall(srv, svcPayments, "payments.PaymentService", "Charge", b.size(420, 0.1), b.size(180, 0.1), t+b.ms(0.3, 0.3), b.payments(ti))
					t, f4 := b.httpCall(srv, svcShipping, httpReq{method: "POST", path: "/shipments", route: "/shipments", reqBody: b.size(700, 0.2), respBody: b.size(450, 0.1)}, t+b.ms(0.3, 0.3), b.work(9, 0.35))
					t, f5 := b.httpCall(srv, svcOrders, httpReq{method: "POST", path: "/orders", route: "/orders", reqBody: b.size(1900, 0.2), respBody: b.size(350, 0.1)}, t+b.ms(0.3, 0.3),
						func(o *spanPlan, t time.Duration) (time.Duration, bool) {
							t = b.db(o, t, b.ms(3.5, 0.3), pg("INSERT", "orders", "INSERT INTO orders (id, user_id, total_cents, status) VALUES (?, ?, ?, ?)", 0))
							t = b.db(o, t+b.ms(0.1, 0.3), b.ms(2.5, 0.3), pg("INSERT", "order_items", "INSERT INTO order_items (order_id, item_id, quantity) VALUES (?, ?, ?)", 0))
							return t + b.ms(0.5, 0.3), false
						})
					failed := f1 || f2 || f3 || f4 || f5
					if !failed {
						producer = b.produce(srv, t+b.ms(0.2, 0.3), ordersTopic, order, b.size(1400, 0.15))
						t = producer.end
					}
					return t + b.ms(0.6, 0.3), failed
				})
		})
	ti.root.set(attribute.String("enduser.id", user), attribute.String("app.order.id", order))
	if producer == nil {
		return
	}

	// email-worker: the async decoy — 2 s long, starting after the request
	// ended (or a short consumer during the request without decoys).
	emailStart := producer.end + b.ms(8, 0.4)
	if b.opts.Decoys {
		ti.asyncConsumer = true
		emailStart = ti.root.end + b.ms(150, 0.4)
	}
	b.consume(producer, svcEmail, emailStart, b.opts.Consumers == ConsumersLink, func(c *spanPlan, t time.Duration) (time.Duration, bool) {
		begin := t
		t = b.db(c, t, b.ms(3, 0.3), pg("SELECT", "customers", "SELECT email, first_name, locale FROM customers WHERE id = ?", 1))
		if !b.opts.Decoys {
			t = b.db(c, t+b.ms(0.2, 0.3), b.ms(3, 0.3), pg("INSERT", "email_outbox", "INSERT INTO email_outbox (order_id, template, payload) VALUES (?, ?, ?)", 0))
			return t, false
		}
		total := b.lat(2*time.Second, 0.02)
		send := b.ms(380, 0.05)
		t = begin + total - send // template rendering and the PDF invoice: self time
		return b.external(c, sendgridHost, httpReq{method: "POST", path: "/v3/mail/send", route: "/v3/mail/send", reqBody: b.size(38000, 0.2), respBody: 0}, t, send)
	})

	// notification-service: a short consumer shortly after the message.
	b.consume(producer, svcNotify, producer.end+b.ms(12, 0.5), b.opts.Consumers != ConsumersChild, func(c *spanPlan, t time.Duration) (time.Duration, bool) {
		t = b.db(c, t, b.ms(3, 0.3), pg("INSERT", "notifications", "INSERT INTO notifications (user_id, kind, order_id) VALUES (?, ?, ?)", 0))
		return b.external(c, fcmHost, httpReq{method: "POST", path: "/v1/projects/shop/messages:send", route: "/v1/projects/{project}/messages:send", reqBody: b.size(600, 0.2), respBody: b.size(90, 0.1)}, t+b.ms(0.3, 0.3), b.ms(38, 0.3))
	})
}

// payments is payments-service Charge: the ledger lookup (slow with SlowDB),
// the Stripe charge and the ledger insert.
func (b *builder) payments(ti *traceInfo) handler {
	return func(srv *spanPlan, t time.Duration) (time.Duration, bool) {
		d := b.ms(5, 0.35)
		if b.opts.SlowDB {
			d = b.lat(600*time.Millisecond, 0.05)
			ti.slowDB = true
		}
		t = b.db(srv, t, d, pg("SELECT", "ledger", slowLedgerSQL, 1))
		t, failed := b.external(srv, stripeHost, httpReq{method: "POST", path: "/v1/charges", route: "/v1/charges", reqBody: b.size(640, 0.1), respBody: b.size(2900, 0.1)}, t+b.ms(0.4, 0.3), b.ms(45, 0.2))
		if failed {
			return t, true
		}
		t = b.db(srv, t+b.ms(0.2, 0.3), b.ms(3, 0.3), pg("INSERT", "ledger", "INSERT INTO ledger (account_id, amount_cents, currency, charge_id) VALUES (?, ?, ?, ?)", 0))
		return t + b.ms(0.4, 0.3), false
	}
}

// orderHistory: web-frontend GET /account/orders/{id} → api-gateway →
// orders-service, which loads the order and then each item from
// inventory-service: 10 sequential GET /items/{id} with NPlusOne, one
// batched GET /items?ids=… without.
func (b *builder) orderHistory(ti *traceInfo) {
	order := b.id(1000000, 9999999)
	b.viaGateway(ti, "GET", "/account/orders/"+order, "", "/account/orders/{id}", "/api/orders/"+order, "/api/orders/{id}", 0, b.size(31000, 0.2),
		func(gw *spanPlan, t time.Duration) (time.Duration, bool) {
			return b.httpCall(gw, svcOrders, httpReq{method: "GET", path: "/orders/" + order, route: "/orders/{id}", respBody: b.size(4200, 0.2)}, t,
				func(srv *spanPlan, t time.Duration) (time.Duration, bool) {
					t = b.db(srv, t, b.ms(2.5, 0.3), pg("SELECT", "orders", "SELECT id, user_id, status, total_cents, created_at FROM orders WHERE id = ?", 1))
					t = b.db(srv, t+b.ms(0.1, 0.3), b.ms(2, 0.3), pg("SELECT", "order_items", "SELECT item_id, quantity FROM order_items WHERE order_id = ?", nPlusOneCalls))
					items := b.distinctIDs(nPlusOneCalls, 10000, 99999)
					item := func(rows int) handler {
						return func(inv *spanPlan, t time.Duration) (time.Duration, bool) {
							t = b.db(inv, t, b.ms(3.6, 0.22), pg("SELECT", "items", "SELECT id, sku, name, price_cents FROM items WHERE id = ANY(?)", rows))
							return t + b.ms(1.5, 0.25), false
						}
					}
					failed := false
					if b.opts.NPlusOne {
						ti.nPlusOne = true
						for _, id := range items {
							var f bool
							t, f = b.httpCall(srv, svcInventory, httpReq{method: "GET", path: "/items/" + id, route: "/items/{id}", respBody: b.size(620, 0.1)}, t+b.ms(0.25, 0.3), item(1))
							failed = failed || f
						}
					} else {
						t, failed = b.httpCall(srv, svcInventory, httpReq{method: "GET", path: "/items", query: "ids=" + strings.Join(items, ","), route: "/items", respBody: b.size(6100, 0.1)}, t+b.ms(0.25, 0.3), item(nPlusOneCalls))
					}
					return t + b.ms(1.2, 0.3), failed
				})
		})
}

// dashboard (decoy): web-frontend GET /dashboard → api-gateway GET
// /api/dashboard, ~400 ms made almost entirely (~95 %) of four sequential
// calls to different services, none above ~33 % of it.
func (b *builder) dashboard(ti *traceInfo) {
	ti.gatewayFanIn = true
	user := b.id(10000, 99999)
	part := func(target float64, q dbQuery) handler {
		return func(srv *spanPlan, t time.Duration) (time.Duration, bool) {
			total := b.ms(target, 0.05)
			d := time.Duration(float64(total) * 0.4)
			t = b.db(srv, t+b.ms(0.3, 0.3), d, q)
			return t + (total - d), false
		}
	}
	b.viaGateway(ti, "GET", "/dashboard", "", "/dashboard", "/api/dashboard", "/api/dashboard", 0, b.size(64000, 0.2),
		func(gw *spanPlan, t time.Duration) (time.Duration, bool) {
			t, f1 := b.httpCall(gw, svcCatalog, httpReq{method: "GET", path: "/products/featured", route: "/products/featured", respBody: b.size(14000, 0.2)}, t,
				part(108, pg("SELECT", "products", "SELECT id, name, price_cents FROM products ORDER BY popularity DESC LIMIT 12", 12)))
			t, f2 := b.httpCall(gw, svcOrders, httpReq{method: "GET", path: "/orders", query: "user_id=" + user + "&limit=5", route: "/orders", respBody: b.size(3800, 0.2)}, t+b.ms(0.2, 0.3),
				part(98, pg("SELECT", "orders", "SELECT id, status, total_cents, created_at FROM orders WHERE user_id = ? ORDER BY created_at DESC LIMIT 5", 5)))
			t, f3 := b.httpCall(gw, svcRecs, httpReq{method: "GET", path: "/recommendations", query: "user_id=" + user, route: "/recommendations", respBody: b.size(5200, 0.2)}, t+b.ms(0.2, 0.3),
				part(93, pg("SELECT", "recommendations", "SELECT product_id, score FROM recommendations WHERE user_id = ? ORDER BY score DESC LIMIT 12", 12)))
			t, f4 := b.httpCall(gw, svcReviews, httpReq{method: "GET", path: "/reviews/recent", query: "user_id=" + user, route: "/reviews/recent", respBody: b.size(2600, 0.2)}, t+b.ms(0.2, 0.3),
				part(74, pg("SELECT", "reviews", "SELECT id, product_id, rating FROM reviews WHERE user_id = ? ORDER BY created_at DESC LIMIT 5", 5)))
			return t + b.ms(15, 0.15), f1 || f2 || f3 || f4 // compose the page model
		})
	ti.root.set(attribute.String("enduser.id", user))
}
