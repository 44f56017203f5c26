package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tracehound/tracehound/storage"
)

// testStart is the start time of generated spans.
const testStart = 1_700_000_000_000_000_000

var spanSeq atomic.Uint32

// validTraces returns traces with one valid span of service "svc".
func validTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	rs.ScopeSpans().AppendEmpty().Scope().SetName("test")
	addSpan(td, nil)
	return td
}

// addSpan appends a valid span with unique ids to the first scope of td and
// lets edit change it.
func addSpan(td ptrace.Traces, edit func(ptrace.Span)) ptrace.Span {
	s := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
	n := spanSeq.Add(1)
	var tid pcommon.TraceID
	var sid pcommon.SpanID
	tid[0] = 0xaa
	binary.BigEndian.PutUint32(tid[12:], n)
	sid[0] = 0xbb
	binary.BigEndian.PutUint32(sid[4:], n)
	s.SetTraceID(tid)
	s.SetSpanID(sid)
	s.SetName("op")
	s.SetStartTimestamp(testStart)
	s.SetEndTimestamp(testStart + 1_000_000)
	if edit != nil {
		edit(s)
	}
	return s
}

// converted is a ConvertResult with its batch expanded to spans.
type converted struct {
	ConvertResult
	Spans []storage.Span
}

// batchSpans returns the rows of b as spans (nil for an empty batch).
func batchSpans(b *storage.SpanBatch) []storage.Span {
	var out []storage.Span
	for i := range b.Len() {
		out = append(out, b.Span(i))
	}
	return out
}

// convertTD converts td as the receivers convert OTLP/JSON: by way of its
// protobuf encoding.
func convertTD(t testing.TB, td ptrace.Traces, cfg Config) converted {
	t.Helper()
	res, err := Convert(protoBody(t, td), cfg)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return converted{ConvertResult: res, Spans: batchSpans(res.Batch)}
}

func protoBody(t testing.TB, td ptrace.Traces) []byte {
	t.Helper()
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type httpResult struct {
	status int
	header http.Header
	body   []byte
}

// httpClient does not keep connections alive, so no goroutine outlives a
// test.
var httpClient = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

func postTraces(addr, contentType, contentEncoding string, body []byte) (*httpResult, error) {
	return doHTTP(http.MethodPost, "http://"+addr+tracesPath, contentType, contentEncoding, bytes.NewReader(body), int64(len(body)))
}

// doHTTP sends a request; contentLength -1 sends the body chunked.
func doHTTP(method, url, contentType, contentEncoding string, body io.Reader, contentLength int64) (*httpResult, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Body = io.NopCloser(body) // hide the length from net/http
		req.ContentLength = contentLength
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if contentEncoding != "" {
		req.Header.Set("Content-Encoding", contentEncoding)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &httpResult{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// assertSpan compares a stored span with the expected one, field by field.
func assertSpan(t *testing.T, got, want storage.Span) {
	t.Helper()
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !reflect.DeepEqual(g, w) {
			t.Errorf("span %s:\n got  %#v\n want %#v", gv.Type().Field(i).Name, g, w)
		}
	}
}

func hexID(id pcommon.SpanID) string { return hex.EncodeToString(id[:]) }

// hex8 is the hex trace id (for a zero span id) or span id of the i-th span
// of the first scope of td.
func hex8(td ptrace.Traces, i int) string {
	s := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(i)
	if s.SpanID().IsEmpty() {
		tid := s.TraceID()
		return hex.EncodeToString(tid[:])
	}
	return hexID(s.SpanID())
}

// ptraceotlpRequestJSON decodes one OTLP/JSON span with the given
// attributes list, as the HTTP receiver would.
func ptraceotlpRequestJSON(t *testing.T, attrs string) ptrace.Traces {
	t.Helper()
	req := ptraceotlp.NewExportRequest()
	body := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",` +
		`"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":` + attrs + `}]}]}]}`
	if err := req.UnmarshalJSON([]byte(body)); err != nil {
		t.Fatal(err)
	}
	return req.Traces()
}
