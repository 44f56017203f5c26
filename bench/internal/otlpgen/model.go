package otlpgen

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// category is the kind of instrumentation that produced a span; it selects
// the instrumentation scope (library) of the span's service language.
type category int

const (
	catHTTPServer category = iota
	catHTTPClient
	catSQL
	catRedis
	catKafka
	numCategories
)

type scope struct{ name, version string }

// language describes the SDK and instrumentation libraries of a service.
type language struct {
	name      string // telemetry.sdk.language
	sdk       string // telemetry.sdk.version
	scopes    [numCategories]scope
	userAgent string // of its HTTP client
	thread    func(r *rng) string
	codeFile  string // code.file.path prefix
	port      int64
}

var (
	langGo = &language{
		name: "go", sdk: "1.38.0",
		scopes: [numCategories]scope{
			{"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "0.63.0"},
			{"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "0.63.0"},
			{"github.com/XSAM/otelsql", "0.40.0"},
			{"github.com/redis/go-redis/extra/redisotel", "9.14.0"},
			{"go.opentelemetry.io/contrib/instrumentation/github.com/IBM/sarama/otelsarama", "0.43.0"},
		},
		userAgent: "Go-http-client/1.1",
		thread:    func(*rng) string { return "" },
		codeFile:  "/app/internal/",
		port:      8080,
	}
	langJava = &language{
		name: "java", sdk: "1.54.1",
		scopes: [numCategories]scope{
			{"io.opentelemetry.tomcat-10.0", "2.20.1-alpha"},
			{"io.opentelemetry.java-http-client", "2.20.1-alpha"},
			{"io.opentelemetry.jdbc", "2.20.1-alpha"},
			{"io.opentelemetry.lettuce-5.1", "2.20.1-alpha"},
			{"io.opentelemetry.kafka-clients-2.6", "2.20.1-alpha"},
		},
		userAgent: "Java-http-client/21.0.8",
		thread:    func(r *rng) string { return "http-nio-8080-exec-" + itoa(r.between(1, 200)) },
		codeFile:  "com/shop/",
		port:      8080,
	}
	langPython = &language{
		name: "python", sdk: "1.37.0",
		scopes: [numCategories]scope{
			{"opentelemetry.instrumentation.flask", "0.58b0"},
			{"opentelemetry.instrumentation.requests", "0.58b0"},
			{"opentelemetry.instrumentation.psycopg", "0.58b0"},
			{"opentelemetry.instrumentation.redis", "0.58b0"},
			{"opentelemetry.instrumentation.confluent_kafka", "0.58b0"},
		},
		userAgent: "python-requests/2.32.5",
		thread:    func(r *rng) string { return "Thread-" + itoa(r.between(1, 64)) + " (process_request_thread)" },
		codeFile:  "/app/src/",
		port:      8000,
	}
	langNode = &language{
		name: "nodejs", sdk: "2.1.0",
		scopes: [numCategories]scope{
			{"@opentelemetry/instrumentation-http", "0.205.0"},
			{"@opentelemetry/instrumentation-undici", "0.16.0"},
			{"@opentelemetry/instrumentation-pg", "0.58.0"},
			{"@opentelemetry/instrumentation-ioredis", "0.53.0"},
			{"@opentelemetry/instrumentation-kafkajs", "0.14.0"},
		},
		userAgent: "node",
		thread:    func(*rng) string { return "" },
		codeFile:  "/usr/src/app/dist/",
		port:      3000,
	}
)

// service is one of the eight services of the simulated shop.
type service struct {
	name      string
	version   string
	lang      *language
	instances []instance
}

// instance is one running replica; it gives the resource attributes.
type instance struct {
	id, host, pod, ip string
	pid               int64
}

// Services are the services of the simulated shop, in the order their
// resources appear in a request.
var serviceNames = []string{"frontend", "cart", "checkout", "payment", "catalog", "inventory", "recommendation", "notification"}

func newServices(r *rng) map[string]*service {
	langs := map[string]*language{
		"frontend": langNode, "cart": langGo, "checkout": langJava, "payment": langGo,
		"catalog": langPython, "inventory": langGo, "recommendation": langPython, "notification": langJava,
	}
	m := make(map[string]*service, len(serviceNames))
	for _, name := range serviceNames {
		s := &service{
			name:    name,
			version: "1." + itoa(r.between(2, 19)) + "." + itoa(r.between(0, 9)),
			lang:    langs[name],
		}
		for range 3 {
			ip := "10.24." + itoa(r.between(1, 9)) + "." + itoa(r.between(2, 250))
			s.instances = append(s.instances, instance{
				id:   fixedUUID(r),
				host: "ip-" + strings.ReplaceAll(ip, ".", "-") + ".eu-west-1.compute.internal",
				pod:  name + "-" + randString(r, 10, "bcdfghjklmnpqrstvwxz2456789") + "-" + randString(r, 5, "bcdfghjklmnpqrstvwxz2456789"),
				ip:   ip,
				pid:  r.between(1, 4) * 7,
			})
		}
		m[name] = s
	}
	return m
}

// attr is one attribute: a string, an int or a bool.
type attr struct {
	key   string
	str   string
	num   int64
	isInt bool
	flag  bool
	isB   bool
	dbl   float64
	isDbl bool
}

func sa(k, v string) attr       { return attr{key: k, str: v} }
func ia(k string, v int64) attr { return attr{key: k, num: v, isInt: true} }
func ba(k string, v bool) attr  { return attr{key: k, flag: v, isB: true} }
func da(k string, v float64) attr {
	return attr{key: k, dbl: v, isDbl: true}
}

type event struct {
	at    int64 // ns after the trace start
	name  string
	attrs []attr
}

// span is one span of a trace being laid out; times are ns after the trace
// start.
type span struct {
	svc        *service
	cat        category
	name       string
	kind       ptrace.SpanKind
	parent     int // index in the trace, -1 for the root
	start, end int64
	attrs      []attr
	status     ptrace.StatusCode
	statusMsg  string
	events     []event
	link       int // index of a linked span, -1 for none
	id         [8]byte
}

type trace struct {
	id     [16]byte
	spans  []*span
	inst   map[string]int // instance of each service
	tokens []token        // random values that vary per send
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func randString(r *rng, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.intn(len(alphabet))]
	}
	return string(b)
}

const hexDigits = "0123456789abcdef"

func fixedUUID(r *rng) string {
	return randString(r, 8, hexDigits) + "-" + randString(r, 4, hexDigits) + "-4" + randString(r, 3, hexDigits) +
		"-a" + randString(r, 3, hexDigits) + "-" + randString(r, 12, hexDigits)
}
