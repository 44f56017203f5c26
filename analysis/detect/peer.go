package detect

import (
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/tracehound/tracehound/storage"
)

// Node kinds of the service graph.
const (
	// KindService is an instrumented service, or a peer named by
	// peer.service / service.peer.name.
	KindService = "service"
	// KindDatabase is a database named from db.* attributes.
	KindDatabase = "database"
	// KindMessaging is a queue or topic named from messaging.* attributes.
	KindMessaging = "messaging"
	// KindExternal is any other un-instrumented peer (a host or an RPC
	// service).
	KindExternal = "external"
)

// strAttr returns a span attribute as text: the string value, or the JSON
// text of a non-string value (numbers and booleans read naturally), or "".
func strAttr(sp *storage.Span, key string) string {
	if v := sp.Attributes[key]; v != "" {
		return v
	}
	return sp.TypedAttributes[key]
}

// firstStrAttr returns the first non-empty attribute among keys.
func firstStrAttr(sp *storage.Span, keys ...string) string {
	for _, k := range keys {
		if v := strAttr(sp, k); v != "" {
			return v
		}
	}
	return ""
}

// intAttr returns a non-negative integer attribute stored either as a
// string or as a JSON number (also in float notation), and whether it was
// present and valid.
func intAttr(sp *storage.Span, key string) (int64, bool) {
	if v, ok := sp.TypedAttributes[key]; ok {
		return parseSize(v)
	}
	if v, ok := sp.Attributes[key]; ok {
		return parseSize(v)
	}
	return 0, false
}

// parseSize parses a non-negative size written as an integer, a float or a
// quoted number.
func parseSize(v string) (int64, bool) {
	v = strings.TrimSpace(strings.Trim(v, `"`))
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, n >= 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0) || f > math.MaxInt64/2 {
		return 0, false
	}
	return int64(f), true
}

// firstIntAttr returns the first valid integer attribute among keys.
func firstIntAttr(sp *storage.Span, keys ...string) (int64, bool) {
	for _, k := range keys {
		if v, ok := intAttr(sp, k); ok {
			return v, true
		}
	}
	return 0, false
}

// hasMessaging reports whether a span carries messaging attributes.
func hasMessaging(sp *storage.Span) bool {
	return strAttr(sp, "messaging.system") != "" || messagingDestination(sp) != ""
}

// messagingDestination returns the destination of a messaging span: the
// template when present (it has no per-message ids), else the name (or the
// deprecated messaging.destination), "(temporary)" for temporary or
// anonymous destinations, or "".
func messagingDestination(sp *storage.Span) string {
	if d := strAttr(sp, "messaging.destination.template"); d != "" {
		return d
	}
	if strAttr(sp, "messaging.destination.temporary") == "true" || strAttr(sp, "messaging.destination.anonymous") == "true" {
		return "(temporary)"
	}
	return firstStrAttr(sp, "messaging.destination.name", "messaging.destination")
}

// isReceive reports whether a span is the receive (poll) side of messaging.
func isReceive(sp *storage.Span) bool {
	op := firstStrAttr(sp, "messaging.operation.type", "messaging.operation")
	return strings.EqualFold(op, "receive")
}

// Peer returns the virtual node a CLIENT or PRODUCER span talks to when the
// callee is not instrumented, and ok=false when no attribute identifies it.
// The span kind is not checked. Names are:
//
//   - messaging (kind "messaging"), for PRODUCER/CONSUMER spans and any span
//     with messaging.* but no db.* attributes: "system/destination" from
//     messaging.system and messaging.destination.template,
//     messaging.destination.name or the deprecated messaging.destination,
//     e.g. "kafka/orders"; the system alone when there is no destination,
//     and "messaging/destination" when there is no system;
//   - database (kind "database"): "system/namespace" from db.system.name
//     (or the deprecated db.system) and db.namespace (or the deprecated
//     db.name), e.g. "postgresql/orders"; the system alone when there is no
//     namespace;
//   - a logical service (kind "service"): peer.service or
//     service.peer.name, which by definition name the remote service's
//     service.name, so the node merges with that service when it is
//     instrumented;
//   - external (kind "external"): the host from server.address, the
//     deprecated net.peer.name or http.host, or the host of url.full /
//     http.url; then rpc.service; then, as a last resort, the IP address
//     from network.peer.address, net.sock.peer.addr or net.peer.ip.
func Peer(sp *storage.Span) (name, kind string, ok bool) {
	msg := hasMessaging(sp)
	dbSystem := firstStrAttr(sp, "db.system.name", "db.system")
	if msg && (dbSystem == "" || sp.Kind == storage.SpanKindProducer || sp.Kind == storage.SpanKindConsumer) {
		sys := strAttr(sp, "messaging.system")
		if sys == "" {
			sys = "messaging"
		}
		if d := messagingDestination(sp); d != "" {
			return sys + "/" + d, KindMessaging, true
		}
		return sys, KindMessaging, true
	}
	if dbSystem != "" {
		if ns := firstStrAttr(sp, "db.namespace", "db.name"); ns != "" {
			return dbSystem + "/" + ns, KindDatabase, true
		}
		return dbSystem, KindDatabase, true
	}
	if s := firstStrAttr(sp, "peer.service", "service.peer.name"); s != "" {
		return s, KindService, true
	}
	if h := firstStrAttr(sp, "server.address", "net.peer.name", "http.host"); h != "" {
		return stripPort(h), KindExternal, true
	}
	if u := firstStrAttr(sp, "url.full", "http.url"); u != "" {
		if pu, err := url.Parse(u); err == nil && pu.Hostname() != "" {
			return pu.Hostname(), KindExternal, true
		}
	}
	if s := strAttr(sp, "rpc.service"); s != "" {
		return s, KindExternal, true
	}
	if a := firstStrAttr(sp, "network.peer.address", "net.sock.peer.addr", "net.peer.ip"); a != "" {
		return a, KindExternal, true
	}
	return "", "", false
}

// stripPort removes a ":port" suffix from a host (http.host may carry one),
// leaving IPv6 literals intact.
func stripPort(h string) string {
	if i := strings.LastIndexByte(h, ':'); i > 0 && !strings.Contains(h[i+1:], "]") {
		if _, err := strconv.Atoi(h[i+1:]); err == nil && strings.Count(h, ":") == 1 {
			return h[:i]
		}
	}
	return h
}

// PayloadSizes returns the request and response sizes of a span in bytes,
// -1 when unknown, from these attributes (current names first):
//
//   - request: http.request.body.size, http.request_content_length,
//     then http.request.size (which includes headers);
//   - response: http.response.body.size, http.response_content_length,
//     then http.response.size;
//   - a message (reported as the request: it flows from producer to
//     consumer): messaging.message.body.size, then
//     messaging.message.payload_size_bytes;
//   - RPC messages, when the attributes above are absent: the sum over
//     "rpc.message" events (rpc.message.type SENT/RECEIVED,
//     rpc.message.uncompressed_size, else rpc.message.compressed_size) or
//     the older "message" events (message.type, message.uncompressed_size,
//     message.compressed_size). SENT is the request of a CLIENT or PRODUCER
//     span and the response of any other span; RECEIVED the opposite.
//     Streaming calls therefore report the bytes of the whole stream.
//
// Values may be JSON numbers in TypedAttributes or strings in Attributes.
func PayloadSizes(sp *storage.Span) (request, response int64) {
	request, response = -1, -1
	if v, ok := firstIntAttr(sp, "http.request.body.size", "http.request_content_length", "http.request.size"); ok {
		request = v
	}
	if v, ok := firstIntAttr(sp, "http.response.body.size", "http.response_content_length", "http.response.size"); ok {
		response = v
	}
	if request < 0 {
		if v, ok := firstIntAttr(sp, "messaging.message.body.size", "messaging.message.payload_size_bytes"); ok {
			request = v
		}
	}
	if (request < 0 || response < 0) && len(sp.Events) > 0 {
		sent, recv := rpcEventSizes(sp)
		if sp.Kind != storage.SpanKindClient && sp.Kind != storage.SpanKindProducer {
			sent, recv = recv, sent
		}
		if request < 0 {
			request = sent
		}
		if response < 0 {
			response = recv
		}
	}
	return request, response
}

// rpcEventSizes sums the sizes of sent and received RPC message events, -1
// for a direction without any sized event.
func rpcEventSizes(sp *storage.Span) (sent, recv int64) {
	sent, recv = -1, -1
	for i := range sp.Events {
		ev := &sp.Events[i]
		var prefix string
		switch ev.Name {
		case "rpc.message":
			prefix = "rpc.message."
		case "message":
			prefix = "message."
		default:
			continue
		}
		var attrs map[string]json.RawMessage
		if json.Unmarshal([]byte(ev.AttributesJSON), &attrs) != nil {
			continue
		}
		size, ok := rawSize(attrs[prefix+"uncompressed_size"])
		if !ok {
			if size, ok = rawSize(attrs[prefix+"compressed_size"]); !ok {
				continue
			}
		}
		var typ string
		if json.Unmarshal(attrs[prefix+"type"], &typ) != nil {
			continue
		}
		switch strings.ToUpper(typ) {
		case "SENT":
			sent = max(sent, 0) + size
		case "RECEIVED":
			recv = max(recv, 0) + size
		}
	}
	return sent, recv
}

// rawSize parses a JSON number (or a quoted number) as a size.
func rawSize(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	return parseSize(string(raw))
}
