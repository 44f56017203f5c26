// Package storage writes spans to ClickHouse and reads them back.
//
// The package owns the ClickHouse schema (see the schemas directory), the
// batching writer with its bounded queue, and the read queries the API and the
// analysis use. The embedded ClickHouse launcher lives in storage/embedded.
package storage

// SpanKind is the OpenTelemetry span kind, with the OTLP enum values.
type SpanKind int8

// Span kinds, numbered as in the OTLP protobuf.
const (
	SpanKindUnspecified SpanKind = 0
	SpanKindInternal    SpanKind = 1
	SpanKindServer      SpanKind = 2
	SpanKindClient      SpanKind = 3
	SpanKindProducer    SpanKind = 4
	SpanKindConsumer    SpanKind = 5
)

// String returns the lower-case kind name used in the schema and the API.
func (k SpanKind) String() string {
	switch k {
	case SpanKindInternal:
		return "internal"
	case SpanKindServer:
		return "server"
	case SpanKindClient:
		return "client"
	case SpanKindProducer:
		return "producer"
	case SpanKindConsumer:
		return "consumer"
	default:
		return "unspecified"
	}
}

// StatusCode is the OpenTelemetry span status code, with the OTLP enum values.
type StatusCode int8

// Status codes, numbered as in the OTLP protobuf.
const (
	StatusUnset StatusCode = 0
	StatusOK    StatusCode = 1
	StatusError StatusCode = 2
)

// String returns the lower-case status name used in the schema and the API.
func (s StatusCode) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusError:
		return "error"
	default:
		return "unset"
	}
}

// Span is one validated span, flattened to the shape of the spans table.
//
// Attribute values are kept in two maps: Attributes holds string-valued
// attributes verbatim; TypedAttributes holds every other value (int, double,
// bool, bytes, array, map) encoded as JSON text (bytes as a base64 JSON
// string), so the original type can be restored on read. A key appears in at
// most one of the two maps.
type Span struct {
	TraceID      [16]byte
	SpanID       [8]byte
	ParentSpanID [8]byte // all zero for a root span
	TraceState   string

	Service string // resource attribute service.name ("unknown_service" when absent)
	Name    string
	Kind    SpanKind

	StartUnixNano int64
	DurationNano  int64 // end - start, never negative after validation

	StatusCode    StatusCode
	StatusMessage string

	ScopeName    string
	ScopeVersion string

	ResourceAttributes      map[string]string
	ResourceTypedAttributes map[string]string
	Attributes              map[string]string
	TypedAttributes         map[string]string

	Events []Event
	Links  []Link

	DroppedAttributesCount uint32
	DroppedEventsCount     uint32
	DroppedLinksCount      uint32

	// IngestedAt is when ClickHouse stored the span (Unix seconds, server
	// clock). Set on read; ignored on insert.
	IngestedAt int64
}

// Event is a span event. AttributesJSON is a JSON object mapping each
// attribute key to its typed value ("{}" when there are none).
type Event struct {
	TimeUnixNano   int64
	Name           string
	AttributesJSON string
}

// Link is a span link. AttributesJSON is encoded as in Event.
type Link struct {
	TraceID        [16]byte
	SpanID         [8]byte
	TraceState     string
	AttributesJSON string
}
