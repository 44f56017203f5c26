package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

var fuzzNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// FuzzParseTraceQuery parses arbitrary /api/v1/traces query strings: the
// result is a paramError or a query within the documented bounds.
func FuzzParseTraceQuery(f *testing.F) {
	for _, q := range []string{"", "service=a&operation=GET+%2F&min_duration_ms=250&limit=5&status=error&attr=http.route%3D%2Fx",
		"from=1795651200000&to=2026-11-26T11:30:00Z", "limit=1001", "from=-9223372036854775808", "to=9223372036854775807",
		"attr=novalue&attr==x", "status=any&from=2026-11-26T11:30:00.123456789%2B05:00"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		vals, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseTraceQuery(func(k string, _ ...string) string { return vals.Get(k) }, vals["attr"], fuzzNow)
		if err != nil {
			var pe *paramError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a paramError", err)
			}
			return
		}
		if q.Limit < 1 || q.Limit > 1000 || q.MinDuration < 0 || q.From.After(q.To) {
			t.Fatalf("out of bounds: %+v", q)
		}
		for k := range q.Attributes {
			if k == "" {
				t.Fatal("empty attribute key accepted")
			}
		}
	})
}

// FuzzParseWindow parses arbitrary from/to values.
func FuzzParseWindow(f *testing.F) {
	f.Add("", "")
	f.Add("1795651200000", "2026-11-26T11:30:00Z")
	f.Add("2026-11-26T11:30:00Z", "1")
	f.Add("9223372036854775807", "-9223372036854775808")
	f.Fuzz(func(t *testing.T, from, to string) {
		start, end, err := parseWindow(from, to, fuzzNow)
		if err != nil {
			var pe *paramError
			if !errors.As(err, &pe) || (pe.param != "from" && pe.param != "to") {
				t.Fatalf("error %v", err)
			}
			return
		}
		if start.After(end) {
			t.Fatalf("window %v after %v", start, end)
		}
		if from == "" && to == "" && (!end.Equal(fuzzNow) || !start.Equal(fuzzNow.Add(-time.Hour))) {
			t.Fatalf("default window %v–%v", start, end)
		}
	})
}

// FuzzParseTraceID parses arbitrary trace ids.
func FuzzParseTraceID(f *testing.F) {
	f.Add("5b8efff798038103d269b633813fc60c")
	f.Add("00000000000000000000000000000000")
	f.Add("5B8EFFF798038103D269B633813FC60Z")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseTraceID(s)
		if err == nil && (id == [16]byte{} || len(s) != 32) {
			t.Fatalf("accepted %q as %x", s, id)
		}
	})
}

// FuzzAPIQuery sends arbitrary query strings to the API's GET endpoints
// through the whole fiber stack: the answer is 200 or a JSON 400/404,
// never a 500 or a crash.
func FuzzAPIQuery(f *testing.F) {
	paths := []string{"/api/v1/traces", "/api/v1/services", "/api/v1/servicegraph", "/api/v1/findings",
		"/api/v1/traces/5b8efff798038103d269b633813fc60c", "/api/v1/alerts", "/api/traces", "/api/services", "/api/dependencies"}
	for i := range paths {
		f.Add(uint8(i), "limit=5&service=checkout&from=1795651200000")
		f.Add(uint8(i), "kind=chatty&service=%00&lookback=1h&end=1&start=2&tags=%7B%22a%22:1%7D")
	}
	api := newTestAPI(fixtures())
	f.Fuzz(func(t *testing.T, which uint8, raw string) {
		if strings.ContainsAny(raw, " #\r\n\x00") {
			return // not a valid request target
		}
		target := paths[int(which)%len(paths)] + "?" + raw
		if _, err := url.ParseRequestURI(target); err != nil {
			return
		}
		resp, err := api.app.Test(httptest.NewRequest(http.MethodGet, target, nil), -1)
		if err != nil {
			t.Fatalf("GET %s: %v", target, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		switch resp.StatusCode {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
		default:
			t.Fatalf("GET %s: %d %s", target, resp.StatusCode, b)
		}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && !json.Valid(b) {
			t.Fatalf("GET %s: invalid JSON %s", target, b)
		}
	})
}
