package wal

import (
	"encoding/binary"

	"github.com/tracehound/tracehound/storage"
)

// This file keeps the formatV1 encoder of the versions before the columnar
// batch, for tests only: it produces the records an older tracehound left
// in its log, which this version must still replay.

// appendBatchV1 appends the formatV1 encoding of spans to dst.
func appendBatchV1(dst []byte, spans []storage.Span) []byte {
	dst = append(dst, formatV1)
	dst = binary.AppendUvarint(dst, uint64(len(spans)))
	for i := range spans {
		dst = appendSpanV1(dst, &spans[i])
	}
	return dst
}

// appendRecordV1 appends a record (header and formatV1 payload) of spans
// to dst.
func appendRecordV1(dst []byte, spans []storage.Span) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	dst = appendBatchV1(dst, spans)
	return sealRecord(dst, start)
}

func appendSpanV1(b []byte, s *storage.Span) []byte {
	b = append(b, s.TraceID[:]...)
	b = append(b, s.SpanID[:]...)
	b = append(b, s.ParentSpanID[:]...)
	b = appendStrV1(b, s.TraceState)
	b = appendStrV1(b, s.Service)
	b = appendStrV1(b, s.Name)
	b = append(b, byte(s.Kind))
	b = binary.AppendVarint(b, s.StartUnixNano)
	b = binary.AppendVarint(b, s.DurationNano)
	b = append(b, byte(s.StatusCode))
	b = appendStrV1(b, s.StatusMessage)
	b = appendStrV1(b, s.ScopeName)
	b = appendStrV1(b, s.ScopeVersion)
	b = appendMapV1(b, s.ResourceAttributes)
	b = appendMapV1(b, s.ResourceTypedAttributes)
	b = appendMapV1(b, s.Attributes)
	b = appendMapV1(b, s.TypedAttributes)
	b = binary.AppendUvarint(b, uint64(len(s.Events)))
	for i := range s.Events {
		e := &s.Events[i]
		b = binary.AppendVarint(b, e.TimeUnixNano)
		b = appendStrV1(b, e.Name)
		b = appendStrV1(b, e.AttributesJSON)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Links)))
	for i := range s.Links {
		l := &s.Links[i]
		b = append(b, l.TraceID[:]...)
		b = append(b, l.SpanID[:]...)
		b = appendStrV1(b, l.TraceState)
		b = appendStrV1(b, l.AttributesJSON)
	}
	b = binary.AppendUvarint(b, uint64(s.DroppedAttributesCount))
	b = binary.AppendUvarint(b, uint64(s.DroppedEventsCount))
	b = binary.AppendUvarint(b, uint64(s.DroppedLinksCount))
	return b
}

func appendStrV1(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendMapV1(b []byte, m map[string]string) []byte {
	b = binary.AppendUvarint(b, uint64(len(m)))
	for k, v := range m {
		b = appendStrV1(b, k)
		b = appendStrV1(b, v)
	}
	return b
}
