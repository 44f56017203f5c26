package otlpgen

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Placeholders in strings passed to gen.vary: each becomes a random digit or
// hex digit in the template, and is re-randomised on every send.
const (
	phDigit = '\x01'
	phHex   = '\x02'
)

func D(n int) string { return strings.Repeat(string(rune(phDigit)), n) }
func H(n int) string { return strings.Repeat(string(rune(phHex)), n) }

// uuidPattern is a version-4 UUID whose random parts vary per send.
var uuidPattern = H(8) + "-" + H(4) + "-4" + H(3) + "-a" + H(3) + "-" + H(12)

// region is a run of characters of a template string re-randomised on every
// send: alphabet is digits or hex digits.
type region struct {
	start, n int
	hex      bool
}

// gen lays out traces for one template request.
type gen struct {
	r        *rng
	services map[string]*service
	// varying maps every string that has re-randomised regions to them.
	varying map[string][]region
	cur     *trace // the trace being laid out
}

// vary turns a pattern with placeholders into a concrete random string,
// a token of the current trace: wherever the token appears in a string
// value of the trace (alone or inside a URL, a key, …), its placeholder
// positions are re-randomised on every send, the same way everywhere in the
// trace. A string without placeholders is returned as it is.
func (g *gen) vary(pattern string) string {
	b := []byte(pattern)
	var regs []region
	for i := 0; i < len(b); i++ {
		if b[i] != phDigit && b[i] != phHex {
			continue
		}
		j := i
		for j < len(b) && b[j] == b[i] {
			j++
		}
		isHex := b[i] == phHex
		for k := i; k < j; k++ {
			if isHex {
				b[k] = hexDigits[g.r.intn(16)]
			} else {
				b[k] = byte('0' + g.r.intn(10))
			}
		}
		regs = append(regs, region{start: i, n: j - i, hex: isHex})
		i = j - 1
	}
	if len(regs) == 0 {
		return pattern
	}
	s := string(b)
	g.cur.tokens = append(g.cur.tokens, token{value: s, regs: regs})
	return s
}

// token is a random value of a trace with the regions that vary per send.
type token struct {
	value string
	regs  []region
}

// register records the varying regions of the string value s of trace t
// (every occurrence of every token of t).
func (g *gen) register(t *trace, s string) {
	if _, done := g.varying[s]; done || len(s) < 6 {
		return
	}
	var regs []region
	for _, tk := range t.tokens {
		for from := 0; ; {
			i := strings.Index(s[from:], tk.value)
			if i < 0 {
				break
			}
			for _, r := range tk.regs {
				regs = append(regs, region{start: from + i + r.start, n: r.n, hex: r.hex})
			}
			from += i + len(tk.value)
		}
	}
	if len(regs) > 0 {
		g.varying[s] = regs
	}
}

// dur is a random duration between lo and hi milliseconds, in ns.
func (g *gen) dur(lo, hi float64) int64 {
	return int64(lo*1e6) + int64(g.r.next()%uint64((hi-lo)*1e6+1))
}

type traceBuilder struct {
	g *gen
	t *trace
}

func (g *gen) newTrace() *traceBuilder {
	t := &trace{inst: map[string]int{}}
	g.cur = t
	for i := range t.id {
		t.id[i] = byte(g.r.next())
	}
	for _, s := range serviceNames {
		t.inst[s] = g.r.intn(3)
	}
	return &traceBuilder{g: g, t: t}
}

func (b *traceBuilder) add(parent int, svc string, cat category, name string, kind ptrace.SpanKind, start int64) int {
	s := &span{svc: b.g.services[svc], cat: cat, name: name, kind: kind, parent: parent, start: start, end: start, link: -1}
	v := b.g.r.next()
	for i := range s.id {
		s.id[i] = byte(v >> (8 * i))
	}
	if s.id == [8]byte{} {
		s.id[0] = 1
	}
	b.t.spans = append(b.t.spans, s)
	return len(b.t.spans) - 1
}

func (b *traceBuilder) s(i int) *span { return b.t.spans[i] }

func (b *traceBuilder) inst(svc string) instance {
	s := b.g.services[svc]
	return s.instances[b.t.inst[svc]]
}

// common adds the attributes every instrumented span carries here: thread,
// code location, request id.
func (b *traceBuilder) common(i int, function string, requestID string) {
	g, s := b.g, b.s(i)
	lang := s.svc.lang
	if th := lang.thread(g.r); th != "" {
		s.attrs = append(s.attrs, sa("thread.name", th))
	}
	s.attrs = append(s.attrs,
		ia("thread.id", g.r.between(1, 400)),
		sa("code.function.name", function),
		sa("code.file.path", lang.codeFile+s.svc.name+"/"+strings.ToLower(strings.ReplaceAll(function, ".", "_"))+fileExt(lang)),
		ia("code.line.number", g.r.between(20, 900)),
		sa("app.request.id", requestID),
	)
}

func fileExt(l *language) string {
	switch l {
	case langGo:
		return ".go"
	case langJava:
		return ".java"
	case langPython:
		return ".py"
	default:
		return ".js"
	}
}

var browserAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/139.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (X11; Linux x86_64; rv:142.0) Gecko/20100101 Firefox/142.0",
	"Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/139.0.0.0 Mobile Safari/537.36",
}

// httpServer sets the attributes of an HTTP server span of svc, called
// from the peer with address peerIP (or a browser when ua is set).
func (b *traceBuilder) httpServer(i int, method, route, path string, status int64, reqBody, respBody int64, peerIP, ua, userID string) {
	g, s := b.g, b.s(i)
	svc := s.svc
	s.attrs = append(s.attrs,
		sa("http.request.method", method),
		sa("http.route", route),
		sa("url.path", path),
		sa("url.scheme", "http"),
		ia("http.response.status_code", status),
		sa("server.address", svc.name+".shop.svc.cluster.local"),
		ia("server.port", svc.lang.port),
		sa("client.address", peerIP),
		sa("network.peer.address", peerIP),
		ia("network.peer.port", g.r.between(32768, 60999)),
		sa("network.protocol.version", "1.1"),
		sa("user_agent.original", ua),
		ia("http.response.body.size", respBody),
	)
	if reqBody >= 0 {
		s.attrs = append(s.attrs, ia("http.request.body.size", reqBody))
	}
	if userID != "" {
		s.attrs = append(s.attrs, sa("enduser.id", userID))
	}
	if status >= 500 {
		s.status = ptrace.StatusCodeError
	}
}

// httpClient sets the attributes of an HTTP client span calling target.
func (b *traceBuilder) httpClient(i int, method, url, host string, port, status, reqBody, respBody int64, peerIP string) {
	g, s := b.g, b.s(i)
	s.attrs = append(s.attrs,
		sa("http.request.method", method),
		sa("url.full", url),
		sa("server.address", host),
		ia("server.port", port),
		ia("http.response.status_code", status),
		sa("network.protocol.version", "1.1"),
		sa("network.peer.address", peerIP),
		ia("network.peer.port", port),
		ia("http.response.body.size", respBody),
	)
	if reqBody >= 0 {
		s.attrs = append(s.attrs, ia("http.request.body.size", reqBody))
	}
	if g.r.chance(0.02) {
		s.attrs = append(s.attrs, ia("http.request.resend_count", 1))
	}
	if status >= 400 {
		s.status = ptrace.StatusCodeError
		s.attrs = append(s.attrs, sa("error.type", itoa(status)))
	}
}

// call adds an HTTP client span of from calling to, and the server span of
// to under it; returns both indexes. The caller sets times and attributes.
func (b *traceBuilder) call(parent int, from, to, method, route string, start int64) (client, server int) {
	client = b.add(parent, from, catHTTPClient, method, ptrace.SpanKindClient, start)
	server = b.add(client, to, catHTTPServer, method+" "+route, ptrace.SpanKindServer, start+b.g.dur(0.15, 0.8))
	return client, server
}

// finishCall ends a client/server pair: the server ends at serverEnd, the
// client a little later.
func (b *traceBuilder) finishCall(client, server int, serverEnd int64) int64 {
	b.s(server).end = serverEnd
	b.s(client).end = serverEnd + b.g.dur(0.1, 0.6)
	return b.s(client).end
}

// sql adds a PostgreSQL client span.
func (b *traceBuilder) sql(parent int, svc, db, table, op, query string, start int64, lo, hi float64, rows int64) int {
	g := b.g
	i := b.add(parent, svc, catSQL, op+" "+table, ptrace.SpanKindClient, start)
	s := b.s(i)
	s.end = start + g.dur(lo, hi)
	host := "pg-" + db + "-primary.data.svc.cluster.local"
	s.attrs = append(s.attrs,
		sa("db.system.name", "postgresql"),
		sa("db.namespace", db),
		sa("db.collection.name", table),
		sa("db.operation.name", op),
		sa("db.query.text", query),
		sa("db.query.summary", op+" "+table),
		sa("server.address", host),
		ia("server.port", 5432),
		sa("network.peer.address", "10.31.0."+itoa(int64(2+fnv64(db)%200))),
		ia("network.peer.port", 5432),
		ia("db.response.returned_rows", rows),
	)
	return i
}

// redis adds a Redis client span.
func (b *traceBuilder) redis(parent int, svc, op, key string, start int64) int {
	g := b.g
	i := b.add(parent, svc, catRedis, op, ptrace.SpanKindClient, start)
	s := b.s(i)
	s.end = start + g.dur(0.08, 1.2)
	s.attrs = append(s.attrs,
		sa("db.system.name", "redis"),
		sa("db.operation.name", op),
		sa("db.query.text", op+" "+key),
		sa("db.namespace", "0"),
		sa("server.address", "redis-master.data.svc.cluster.local"),
		ia("server.port", 6379),
		sa("network.peer.address", "10.31.4.17"),
		ia("network.peer.port", 6379),
	)
	return i
}

// kafka adds a producer span and the consumer span that processes its
// message (child of the producer and linked to it, starting after a queue
// lag), as the OpenTelemetry messaging conventions describe.
func (b *traceBuilder) kafka(parent int, producerSvc, consumerSvc, topic, key string, start int64, bodySize int64) (prod, cons int) {
	g := b.g
	prod = b.add(parent, producerSvc, catKafka, "send "+topic, ptrace.SpanKindProducer, start)
	p := b.s(prod)
	p.end = start + g.dur(0.3, 4)
	partition := itoa(g.r.between(0, 11))
	msgID := g.vary(uuidPattern)
	base := []attr{
		sa("messaging.system", "kafka"),
		sa("messaging.destination.name", topic),
		sa("messaging.destination.partition.id", partition),
		sa("messaging.kafka.message.key", key),
		sa("messaging.message.id", msgID),
		ia("messaging.message.body.size", bodySize),
		sa("server.address", "kafka-"+itoa(g.r.between(0, 2))+".kafka-headless.data.svc.cluster.local"),
		ia("server.port", 9092),
	}
	p.attrs = append(p.attrs, base...)
	p.attrs = append(p.attrs,
		sa("messaging.operation.type", "send"),
		sa("messaging.operation.name", "send"),
		sa("messaging.client.id", producerSvc+"-producer-"+itoa(int64(b.t.inst[producerSvc]+1))),
	)
	cons = b.add(prod, consumerSvc, catKafka, "process "+topic, ptrace.SpanKindConsumer, p.end+g.dur(1, 60))
	c := b.s(cons)
	c.link = prod
	c.attrs = append(c.attrs, base...)
	c.attrs = append(c.attrs,
		sa("messaging.operation.type", "process"),
		sa("messaging.operation.name", "process"),
		sa("messaging.consumer.group.name", consumerSvc+"-"+topic),
		sa("messaging.client.id", consumerSvc+"-consumer-"+itoa(int64(b.t.inst[consumerSvc]+1))),
		ia("messaging.kafka.offset", g.r.between(10_000_000, 90_000_000)),
	)
	return prod, cons
}

// exception records an exception event on span i, as SDKs do.
func (b *traceBuilder) exception(i int, typ, msg, stack string) {
	s := b.s(i)
	s.status = ptrace.StatusCodeError
	s.statusMsg = msg
	s.events = append(s.events, event{at: s.end - b.g.dur(0.05, 0.5), name: "exception", attrs: []attr{
		sa("exception.type", typ),
		sa("exception.message", msg),
		sa("exception.stacktrace", stack),
		ba("exception.escaped", true),
	}})
}

// productTrace: a product page. frontend → catalog (redis, postgres,
// inventory → postgres) and, in parallel, frontend → recommendation.
func (g *gen) productTrace() *trace {
	b := g.newTrace()
	reqID := g.vary(uuidPattern)
	user := g.vary("u-" + D(9))
	pidv := g.vary(D(7))
	root := b.add(-1, "frontend", catHTTPServer, "GET /products/:id", ptrace.SpanKindServer, 0)
	t := g.dur(0.2, 1.5)

	c1, s2 := b.call(root, "frontend", "catalog", "GET", "/api/products/<product_id>", t)
	cat := b.inst("catalog")
	u := b.s(s2).start + g.dur(0.1, 0.6)
	r3 := b.redis(s2, "catalog", "GET", "product:"+pidv, u)
	u = b.s(r3).end + g.dur(0.05, 0.4)
	p4 := b.sql(s2, "catalog", "catalog", "products", "SELECT",
		"SELECT p.id, p.sku, p.name, p.description, p.price_cents, p.currency, c.name AS category FROM products p JOIN categories c ON c.id = p.category_id WHERE p.id = $1",
		u, 0.8, 14, 1)
	u = b.s(p4).end + g.dur(0.1, 0.8)
	c5, s6 := b.call(s2, "catalog", "inventory", "GET", "/v1/stock/{sku}", u)
	v := b.s(s6).start + g.dur(0.05, 0.3)
	p7 := b.sql(s6, "inventory", "inventory", "stock", "SELECT",
		"SELECT warehouse_id, available, reserved FROM stock WHERE sku = $1 AND available > 0", v, 0.5, 8, g.r.between(1, 6))
	invEnd := b.finishCall(c5, s6, b.s(p7).end+g.dur(0.05, 0.5))
	catEnd := b.finishCall(c1, s2, invEnd+g.dur(0.2, 3))

	c8, s9 := b.call(root, "frontend", "recommendation", "GET", "/api/recommendations", t+g.dur(0.05, 0.5))
	recEnd := b.finishCall(c8, s9, b.s(s9).start+g.dur(4, 45))
	b.s(root).end = max(catEnd, recEnd) + g.dur(0.3, 2.5)

	fe := b.inst("frontend")
	sku := g.vary("SKU-" + D(6))
	b.httpServer(root, "GET", "/products/:id", "/products/"+pidv, 200, -1, g.r.between(18_000, 95_000),
		"10.0."+itoa(g.r.between(0, 255))+"."+itoa(g.r.between(1, 254)), pick(g.r, browserAgents), user)
	b.common(root, "ProductPage.render", reqID)
	b.httpClient(c1, "GET", "http://catalog.shop.svc.cluster.local:8000/api/products/"+pidv, "catalog.shop.svc.cluster.local", 8000, 200, -1, g.r.between(900, 4000), cat.ip)
	b.common(c1, "CatalogClient.getProduct", reqID)
	b.httpServer(s2, "GET", "/api/products/<product_id>", "/api/products/"+pidv, 200, -1, g.r.between(900, 4000), fe.ip, langNode.userAgent, "")
	b.common(s2, "views.get_product", reqID)
	b.common(r3, "cache.get_product", reqID)
	b.common(p4, "repository.load_product", reqID)
	inv := b.inst("inventory")
	b.httpClient(c5, "GET", "http://inventory.shop.svc.cluster.local:8080/v1/stock/"+sku, "inventory.shop.svc.cluster.local", 8080, 200, -1, g.r.between(120, 600), inv.ip)
	b.common(c5, "inventory_client.stock", reqID)
	b.httpServer(s6, "GET", "/v1/stock/{sku}", "/v1/stock/"+sku, 200, -1, g.r.between(120, 600), cat.ip, langPython.userAgent, "")
	b.common(s6, "stock.Handler.Get", reqID)
	b.common(p7, "stock.Repo.Available", reqID)
	rec := b.inst("recommendation")
	b.httpClient(c8, "GET", "http://recommendation.shop.svc.cluster.local:8000/api/recommendations?product_id="+pidv+"&limit=8", "recommendation.shop.svc.cluster.local", 8000, 200, -1, g.r.between(2000, 9000), rec.ip)
	b.common(c8, "RecommendationClient.forProduct", reqID)
	b.httpServer(s9, "GET", "/api/recommendations", "/api/recommendations", 200, -1, g.r.between(2000, 9000), fe.ip, langNode.userAgent, user)
	b.common(s9, "views.recommendations", reqID)
	return b.t
}

// cartTrace: add to cart. frontend → cart (inventory → postgres, redis,
// kafka → recommendation consumer → redis).
func (g *gen) cartTrace() *trace {
	b := g.newTrace()
	reqID := g.vary(uuidPattern)
	user := g.vary("u-" + D(9))
	sku := g.vary("SKU-" + D(6))
	root := b.add(-1, "frontend", catHTTPServer, "POST /api/cart/items", ptrace.SpanKindServer, 0)
	c1, s2 := b.call(root, "frontend", "cart", "POST", "/v1/cart/{user_id}/items", g.dur(0.3, 2))
	u := b.s(s2).start + g.dur(0.05, 0.4)
	c3, s4 := b.call(s2, "cart", "inventory", "GET", "/v1/stock/{sku}", u)
	p5 := b.sql(s4, "inventory", "inventory", "stock", "SELECT",
		"SELECT warehouse_id, available, reserved FROM stock WHERE sku = $1 AND available > 0", b.s(s4).start+g.dur(0.05, 0.3), 0.5, 8, g.r.between(1, 6))
	u = b.finishCall(c3, s4, b.s(p5).end+g.dur(0.05, 0.5))
	r6 := b.redis(s2, "cart", "HSET", "cart:"+user, u+g.dur(0.05, 0.3))
	u = b.s(r6).end + g.dur(0.05, 0.3)
	k7, k8 := b.kafka(s2, "cart", "recommendation", "cart-events", user, u, g.r.between(300, 1400))
	r9 := b.redis(k8, "recommendation", "ZINCRBY", "popular:"+sku, b.s(k8).start+g.dur(0.1, 1))
	b.s(k8).end = b.s(r9).end + g.dur(0.1, 2)
	end2 := b.finishCall(c1, s2, b.s(k7).end+g.dur(0.1, 1.5))
	b.s(root).end = end2 + g.dur(0.2, 2)

	fe, cart, inv := b.inst("frontend"), b.inst("cart"), b.inst("inventory")
	body := g.r.between(80, 400)
	b.httpServer(root, "POST", "/api/cart/items", "/api/cart/items", 200, body, g.r.between(400, 3000),
		"10.0."+itoa(g.r.between(0, 255))+"."+itoa(g.r.between(1, 254)), pick(g.r, browserAgents), user)
	b.common(root, "CartController.addItem", reqID)
	b.httpClient(c1, "POST", "http://cart.shop.svc.cluster.local:8080/v1/cart/"+user+"/items", "cart.shop.svc.cluster.local", 8080, 200, body, g.r.between(400, 3000), cart.ip)
	b.common(c1, "CartClient.add", reqID)
	b.httpServer(s2, "POST", "/v1/cart/{user_id}/items", "/v1/cart/"+user+"/items", 200, body, g.r.between(400, 3000), fe.ip, langNode.userAgent, user)
	b.common(s2, "cart.Handler.AddItem", reqID)
	b.httpClient(c3, "GET", "http://inventory.shop.svc.cluster.local:8080/v1/stock/"+sku, "inventory.shop.svc.cluster.local", 8080, 200, -1, g.r.between(120, 600), inv.ip)
	b.common(c3, "inventory.Client.Stock", reqID)
	b.httpServer(s4, "GET", "/v1/stock/{sku}", "/v1/stock/"+sku, 200, -1, g.r.between(120, 600), cart.ip, langGo.userAgent, "")
	b.common(s4, "stock.Handler.Get", reqID)
	b.common(p5, "stock.Repo.Available", reqID)
	b.common(r6, "cart.Store.Put", reqID)
	b.common(k7, "events.Publisher.CartChanged", reqID)
	b.common(k8, "consumers.cart_events.handle", reqID)
	b.common(r9, "popularity.bump", reqID)
	return b.t
}

const paymentStack = `payment/internal/processor.(*Client).Charge
	/app/internal/processor/client.go:214
payment/internal/charges.(*Service).Create
	/app/internal/charges/service.go:97
payment/internal/httpapi.(*Handler).CreateCharge
	/app/internal/httpapi/charges.go:61
net/http.HandlerFunc.ServeHTTP
	/usr/local/go/src/net/http/server.go:2322
go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp.(*middleware).serveHTTP
	/go/pkg/mod/go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp@v0.63.0/handler.go:179`

// checkoutTrace: checkout. frontend → checkout (postgres insert, payment →
// postgres, kafka → notification consumer → external e-mail API). About 4 %
// fail in payment, with an exception event and error statuses up the chain.
func (g *gen) checkoutTrace() *trace {
	b := g.newTrace()
	reqID := g.vary(uuidPattern)
	user := g.vary("u-" + D(9))
	order := g.vary("ord_" + H(16))
	fail := g.r.chance(0.04)
	root := b.add(-1, "frontend", catHTTPServer, "POST /api/checkout", ptrace.SpanKindServer, 0)
	c1, s2 := b.call(root, "frontend", "checkout", "POST", "/api/orders", g.dur(0.3, 2))
	u := b.s(s2).start + g.dur(0.5, 3)
	p3 := b.sql(s2, "checkout", "orders", "orders", "INSERT",
		"INSERT INTO orders (id, user_id, status, total_cents, currency, shipping_address_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", u, 1, 9, 1)
	u = b.s(p3).end + g.dur(0.1, 1)
	c4, s5 := b.call(s2, "checkout", "payment", "POST", "/v1/charges", u)
	p6 := b.sql(s5, "payment", "payments", "accounts", "UPDATE",
		"UPDATE accounts SET balance_cents = balance_cents - $1, updated_at = now() WHERE id = $2 AND balance_cents >= $1", b.s(s5).start+g.dur(0.1, 0.5), 1, 12, 1)
	payEnd := b.s(p6).end + g.dur(30, 250) // the card processor
	if fail {
		payEnd = b.s(p6).end + g.dur(2000, 5000)
	}
	u = b.finishCall(c4, s5, payEnd)
	var k7, k8, c9 int
	var k9end int64
	k7, k8 = b.kafka(s2, "checkout", "notification", "orders", order, u+g.dur(0.1, 0.6), g.r.between(900, 4500))
	c9 = b.add(k8, "notification", catHTTPClient, "POST", ptrace.SpanKindClient, b.s(k8).start+g.dur(0.5, 3))
	b.s(c9).end = b.s(c9).start + g.dur(40, 400)
	k9end = b.s(c9).end + g.dur(0.2, 2)
	b.s(k8).end = k9end
	end2 := b.finishCall(c1, s2, b.s(k7).end+g.dur(0.2, 2))
	b.s(root).end = end2 + g.dur(0.3, 3)

	fe, co, pay := b.inst("frontend"), b.inst("checkout"), b.inst("payment")
	status, payStatus := int64(201), int64(201)
	if fail {
		status, payStatus = 502, 503
	}
	body := g.r.between(600, 2400)
	b.httpServer(root, "POST", "/api/checkout", "/api/checkout", status, body, g.r.between(300, 1200),
		"10.0."+itoa(g.r.between(0, 255))+"."+itoa(g.r.between(1, 254)), pick(g.r, browserAgents), user)
	b.common(root, "CheckoutController.submit", reqID)
	b.httpClient(c1, "POST", "http://checkout.shop.svc.cluster.local:8080/api/orders", "checkout.shop.svc.cluster.local", 8080, status, body, g.r.between(300, 1200), co.ip)
	b.common(c1, "CheckoutClient.placeOrder", reqID)
	b.httpServer(s2, "POST", "/api/orders", "/api/orders", status, body, g.r.between(300, 1200), fe.ip, langNode.userAgent, user)
	b.common(s2, "com.shop.checkout.OrderController.create", reqID)
	b.s(s2).attrs = append(b.s(s2).attrs, sa("app.order.id", order))
	b.common(p3, "com.shop.checkout.OrderRepository.insert", reqID)
	b.httpClient(c4, "POST", "http://payment.shop.svc.cluster.local:8080/v1/charges", "payment.shop.svc.cluster.local", 8080, payStatus, g.r.between(200, 500), g.r.between(150, 400), pay.ip)
	b.common(c4, "com.shop.checkout.PaymentClient.charge", reqID)
	b.httpServer(s5, "POST", "/v1/charges", "/v1/charges", payStatus, g.r.between(200, 500), g.r.between(150, 400), co.ip, langJava.userAgent, "")
	b.common(s5, "charges.Service.Create", reqID)
	b.s(s5).attrs = append(b.s(s5).attrs, sa("app.order.id", order), sa("payment.provider", "stripe"), da("payment.amount", float64(g.r.between(500, 50000))/100))
	b.common(p6, "accounts.Repo.Debit", reqID)
	if fail {
		b.exception(s5, "processor.TimeoutError", "card processor did not answer within 2s", paymentStack)
		b.s(c4).statusMsg = "503 Service Unavailable"
		b.s(s2).status = ptrace.StatusCodeError
		b.s(root).status = ptrace.StatusCodeError
	}
	b.common(k7, "com.shop.checkout.OrderEvents.publish", reqID)
	b.common(k8, "com.shop.notification.OrderListener.onOrder", reqID)
	b.httpClient(c9, "POST", "https://api.sendgrid.com/v3/mail/send", "api.sendgrid.com", 443, 202, g.r.between(2000, 7000), 0, "104.18."+itoa(g.r.between(0, 255))+"."+itoa(g.r.between(1, 254)))
	b.common(c9, "com.shop.notification.MailClient.send", reqID)
	return b.t
}
