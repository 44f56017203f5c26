package detect

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/tracehound/tracehound/storage"
)

// edge is the comparable part of a Call.
type edge struct {
	Source, SourceKind, Target, TargetKind, Operation string
	DurationMs                                        float64
	Error                                             bool
	Req, Resp                                         int64
	From                                              string // name of the span counted from
}

func (e edge) String() string {
	return fmt.Sprintf("%s(%s)→%s(%s) %q %.1fms err=%v req=%d resp=%d from=%q",
		e.Source, e.SourceKind, e.Target, e.TargetKind, e.Operation, e.DurationMs, e.Error, e.Req, e.Resp, e.From)
}

// edgesOf runs Calls and reduces the result to edges.
func edgesOf(t *testing.T, tr Trace) []edge {
	t.Helper()
	names := map[[8]byte]string{}
	for _, sp := range tr.Spans {
		names[sp.SpanID] = sp.Name
	}
	var out []edge
	for _, c := range Calls(tr) {
		if c.TraceID != tr.ID {
			t.Errorf("call has trace id %x, want %x", c.TraceID, tr.ID)
		}
		out = append(out, edge{c.Source, c.SourceKind, c.Target, c.TargetKind, c.Operation,
			float64(c.DurationNs) / 1e6, c.Error, c.RequestBytes, c.ResponseBytes, names[c.SpanID]})
	}
	return out
}

func TestCalls(t *testing.T) {
	t.Parallel()
	otherTrace := [16]byte{9, 9, 9}
	tests := []struct {
		name  string
		build func(b *traceBuilder)
		want  []edge
	}{
		{
			name: "client to instrumented server",
			build: func(b *traceBuilder) {
				r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 50)
				c := b.add(r, "orders", "GET", client, 5, 20, failed(),
					attr("http.request.method", "GET"), attr("server.address", "inventory"),
					typed("http.request.body.size", "120"))
				b.httpServer(c, "inventory", "GET", "/items/{id}", 6, 18, typed("http.response.body.size", "2048"))
			},
			want: []edge{{"orders", "service", "inventory", "service", "GET /items/{id}", 20, true, 120, 2048, "GET"}},
		},
		{
			name: "client span name wins when not generic",
			build: func(b *traceBuilder) {
				r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 50)
				b.httpCall(r, "orders", "inventory", "GET", "/items/7", "/items/{itemId}", 5, 20)
			},
			want: []edge{{"orders", "service", "inventory", "service", "GET /items/{id}", 20, false, -1, -1, "GET /items/7"}},
		},
		{
			name: "client to database virtual node",
			build: func(b *traceBuilder) {
				r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 50)
				b.dbCall(r, "orders", "SELECT * FROM orders WHERE id = 5", 10, 30)
			},
			want: []edge{{"orders", "service", "postgresql/orders", "database", "SELECT * FROM orders WHERE id = ?", 30, false, -1, -1, "SELECT orders"}},
		},
		{
			name: "producer to queue to consumer via link",
			build: func(b *traceBuilder) {
				r := b.httpServer(root, "orders", "POST", "/orders", 0, 50)
				p := b.add(r, "orders", "orders publish", producer, 10, 2,
					attr("messaging.system", "kafka"), attr("messaging.destination.name", "orders"),
					typed("messaging.message.body.size", "512"))
				b.add(root, "billing", "orders process", consumer, 100, 400,
					attr("messaging.system", "kafka"), attr("messaging.destination.name", "orders"),
					linkTo(b.t.ID, p))
			},
			want: []edge{
				{"orders", "service", "kafka/orders", "messaging", "orders publish", 2, false, 512, -1, "orders publish"},
				{"kafka/orders", "messaging", "billing", "service", "orders process", 400, false, 512, -1, "orders process"},
			},
		},
		{
			name: "producer to consumer child without messaging attributes",
			build: func(b *traceBuilder) {
				r := b.httpServer(root, "orders", "POST", "/orders", 0, 50)
				p := b.add(r, "orders", "enqueue job", producer, 10, 2)
				b.add(p, "worker", "run job", consumer, 20, 300)
			},
			want: []edge{{"orders", "service", "worker", "service", "enqueue job", 2, false, -1, -1, "enqueue job"}},
		},
		{
			name: "consumer linked to another trace",
			build: func(b *traceBuilder) {
				b.add(root, "billing", "orders process", consumer, 0, 40,
					attr("messaging.system", "rabbitmq"), attr("messaging.destination.name", "invoices"),
					linkTo(otherTrace, [8]byte{1}))
			},
			want: []edge{{"rabbitmq/invoices", "messaging", "billing", "service", "orders process", 40, false, -1, -1, "orders process"}},
		},
		{
			name: "receive client span polls the queue",
			build: func(b *traceBuilder) {
				r := b.add(root, "billing", "poll", internal, 0, 100)
				rc := b.add(r, "billing", "invoices receive", client, 0, 30,
					attr("messaging.system", "aws_sqs"), attr("messaging.destination.name", "invoices"),
					attr("messaging.operation.type", "receive"))
				b.add(rc, "billing", "invoices process", consumer, 31, 50,
					attr("messaging.system", "aws_sqs"), attr("messaging.destination.name", "invoices"))
			},
			want: []edge{{"aws_sqs/invoices", "messaging", "billing", "service", "invoices receive", 30, false, -1, -1, "invoices receive"}},
		},
		{
			name: "server whose parent is not a client span",
			build: func(b *traceBuilder) {
				r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 50)
				w := b.add(r, "orders", "load stock", internal, 5, 40)
				b.httpServer(w, "inventory", "GET", "/stock/{sku}", 10, 20)
			},
			want: []edge{{"orders", "service", "inventory", "service", "GET /stock/{sku}", 20, false, -1, -1, "GET /stock/{sku}"}},
		},
		{
			name: "root server has no edge",
			build: func(b *traceBuilder) {
				r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 50)
				b.add(r, "orders", "render", internal, 5, 10)
			},
			want: nil,
		},
		{
			name: "server whose parent is missing has no edge",
			build: func(b *traceBuilder) {
				b.httpServer([8]byte{7, 7}, "inventory", "GET", "/items/{id}", 0, 50)
			},
			want: nil,
		},
		{
			name: "client wrapping an inner client counts once",
			build: func(b *traceBuilder) {
				r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 50)
				w := b.add(r, "orders", "DynamoDB.GetItem", client, 5, 30, attr("rpc.service", "DynamoDB"))
				b.add(w, "orders", "POST", client, 6, 28, attr("http.request.method", "POST"),
					attr("server.address", "dynamodb.eu-west-1.amazonaws.com"), attr("url.full", "https://dynamodb.eu-west-1.amazonaws.com/"))
			},
			want: []edge{{"orders", "service", "dynamodb.eu-west-1.amazonaws.com", "external", "POST /", 28, false, -1, -1, "POST"}},
		},
		{
			name: "unidentified peer is dropped",
			build: func(b *traceBuilder) {
				r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 50)
				b.add(r, "orders", "call something", client, 5, 10)
			},
			want: nil,
		},
		{
			name: "peer.service names a service node",
			build: func(b *traceBuilder) {
				r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 50)
				b.add(r, "orders", "GET /legacy/42", client, 5, 10, attr("peer.service", "legacy-crm"), attr("server.address", "10.0.0.7"))
			},
			want: []edge{{"orders", "service", "legacy-crm", "service", "GET /legacy/{id}", 10, false, -1, -1, "GET /legacy/42"}},
		},
		{
			name: "server sizes fill in for the client",
			build: func(b *traceBuilder) {
				r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 50)
				c := b.add(r, "orders", "GET /export", client, 5, 20, typed("http.request.body.size", "10"))
				b.httpServer(c, "reports", "GET", "/export", 6, 18,
					typed("http.request.body.size", "999"), attr("http.response.body.size", "5242880"))
			},
			want: []edge{{"orders", "service", "reports", "service", "GET /export", 20, false, 10, 5242880, "GET /export"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newTrace(1)
			tc.build(b)
			got := edgesOf(t, b.build())
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("edges:\n got  %v\n want %v", got, tc.want)
			}
		})
	}
}

func TestCallsSpanIDs(t *testing.T) {
	t.Parallel()
	b := newTrace(1)
	r := b.httpServer(root, "orders", "POST", "/orders", 0, 50)
	p := b.add(r, "orders", "publish", producer, 10, 2, attr("messaging.system", "kafka"), attr("messaging.destination.name", "orders"))
	c := b.add(p, "billing", "process", consumer, 20, 30, attr("messaging.system", "kafka"), attr("messaging.destination.name", "orders"))
	calls := Calls(b.build())
	if len(calls) != 2 {
		t.Fatalf("got %d calls, want 2: %+v", len(calls), calls)
	}
	if calls[0].SpanID != p || calls[1].SpanID != c {
		t.Errorf("span ids: got %x, %x; want producer %x then consumer %x", calls[0].SpanID, calls[1].SpanID, p, c)
	}
	if calls[0].StartUnixNano != baseTime+1e9+msNs(10) {
		t.Errorf("start: got %d", calls[0].StartUnixNano)
	}
}

func TestPeer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		kind       storage.SpanKind
		attrs      map[string]string
		wantName   string
		wantKind   string
		wantNoPeer bool
	}{
		{"db current names", client, map[string]string{"db.system.name": "postgresql", "db.namespace": "orders"}, "postgresql/orders", "database", false},
		{"db deprecated names", client, map[string]string{"db.system": "mysql", "db.name": "shop"}, "mysql/shop", "database", false},
		{"db without namespace", client, map[string]string{"db.system": "redis", "server.address": "cache"}, "redis", "database", false},
		{"messaging", producer, map[string]string{"messaging.system": "kafka", "messaging.destination.name": "orders"}, "kafka/orders", "messaging", false},
		{"messaging deprecated destination", producer, map[string]string{"messaging.system": "rabbitmq", "messaging.destination": "jobs"}, "rabbitmq/jobs", "messaging", false},
		{"messaging template", producer, map[string]string{"messaging.system": "kafka", "messaging.destination.name": "user-42", "messaging.destination.template": "user-{id}"}, "kafka/user-{id}", "messaging", false},
		{"messaging temporary", producer, map[string]string{"messaging.system": "rabbitmq", "messaging.destination.name": "amq.gen-JzTY20", "messaging.destination.temporary": "true"}, "rabbitmq/(temporary)", "messaging", false},
		{"messaging without system", producer, map[string]string{"messaging.destination.name": "jobs"}, "messaging/jobs", "messaging", false},
		{"peer.service", client, map[string]string{"peer.service": "billing", "server.address": "10.1.1.1"}, "billing", "service", false},
		{"service.peer.name", client, map[string]string{"service.peer.name": "billing"}, "billing", "service", false},
		{"server.address", client, map[string]string{"server.address": "api.stripe.com", "rpc.service": "x"}, "api.stripe.com", "external", false},
		{"net.peer.name", client, map[string]string{"net.peer.name": "api.github.com"}, "api.github.com", "external", false},
		{"http.host with port", client, map[string]string{"http.host": "example.org:8443"}, "example.org", "external", false},
		{"url host", client, map[string]string{"url.full": "https://maps.example.com/v1/geo?q=1"}, "maps.example.com", "external", false},
		{"rpc.service last resort", client, map[string]string{"rpc.service": "grpc.health.v1.Health", "network.peer.address": "10.0.0.1"}, "grpc.health.v1.Health", "external", false},
		{"ip address", client, map[string]string{"network.peer.address": "10.0.0.1"}, "10.0.0.1", "external", false},
		{"nothing", client, map[string]string{"http.request.method": "GET"}, "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sp := &storage.Span{Kind: tc.kind, Attributes: tc.attrs}
			name, kind, ok := Peer(sp)
			if ok == tc.wantNoPeer || name != tc.wantName || kind != tc.wantKind {
				t.Errorf("Peer = (%q, %q, %v), want (%q, %q, %v)", name, kind, ok, tc.wantName, tc.wantKind, !tc.wantNoPeer)
			}
		})
	}
}

func TestPayloadSizes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		span      storage.Span
		req, resp int64
	}{
		{"unknown", storage.Span{Kind: client}, -1, -1},
		{"typed current http", storage.Span{Kind: client, TypedAttributes: map[string]string{
			"http.request.body.size": "100", "http.response.body.size": "5242880"}}, 100, 5242880},
		{"string deprecated http", storage.Span{Kind: server, Attributes: map[string]string{
			"http.request_content_length": "42", "http.response_content_length": "7"}}, 42, 7},
		{"float notation", storage.Span{Kind: client, TypedAttributes: map[string]string{
			"http.response.body.size": "5.24288e+06"}}, -1, 5242880},
		{"negative ignored", storage.Span{Kind: client, TypedAttributes: map[string]string{
			"http.response.body.size": "-5"}}, -1, -1},
		{"messaging body", storage.Span{Kind: producer, TypedAttributes: map[string]string{
			"messaging.message.body.size": "2048"}}, 2048, -1},
		{"messaging deprecated", storage.Span{Kind: consumer, TypedAttributes: map[string]string{
			"messaging.message.payload_size_bytes": "4096"}}, 4096, -1},
		{"rpc events on client", storage.Span{Kind: client, Events: []storage.Event{
			{Name: "rpc.message", AttributesJSON: `{"rpc.message.type":"SENT","rpc.message.id":1,"rpc.message.uncompressed_size":300,"rpc.message.compressed_size":100}`},
			{Name: "rpc.message", AttributesJSON: `{"rpc.message.type":"RECEIVED","rpc.message.id":1,"rpc.message.compressed_size":7000}`},
		}}, 300, 7000},
		{"rpc events on server", storage.Span{Kind: server, Events: []storage.Event{
			{Name: "rpc.message", AttributesJSON: `{"rpc.message.type":"RECEIVED","rpc.message.uncompressed_size":300}`},
			{Name: "rpc.message", AttributesJSON: `{"rpc.message.type":"SENT","rpc.message.uncompressed_size":9000}`},
		}}, 300, 9000},
		{"old message events, streaming summed", storage.Span{Kind: client, Events: []storage.Event{
			{Name: "message", AttributesJSON: `{"message.type":"SENT","message.uncompressed_size":10}`},
			{Name: "message", AttributesJSON: `{"message.type":"SENT","message.uncompressed_size":"15"}`},
			{Name: "message", AttributesJSON: `{"message.type":"RECEIVED","message.compressed_size":20}`},
			{Name: "exception", AttributesJSON: `{"exception.message":"x"}`},
			{Name: "message", AttributesJSON: `not json`},
		}}, 25, 20},
		{"attributes win over events", storage.Span{Kind: client,
			TypedAttributes: map[string]string{"http.request.body.size": "1"},
			Events:          []storage.Event{{Name: "rpc.message", AttributesJSON: `{"rpc.message.type":"SENT","rpc.message.uncompressed_size":300}`}},
		}, 1, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, resp := PayloadSizes(&tc.span)
			if req != tc.req || resp != tc.resp {
				t.Errorf("PayloadSizes = (%d, %d), want (%d, %d)", req, resp, tc.req, tc.resp)
			}
		})
	}
}
