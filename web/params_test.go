package web

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/tracehound/tracehound/storage"
)

func TestParseTraceQuery(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		query   string
		attrs   []string
		wantErr string // the bad parameter, or "" for success
		check   func(t *testing.T, q storage.TraceQuery)
	}{
		{"defaults", "", nil, "", func(t *testing.T, q storage.TraceQuery) {
			if !q.From.Equal(now.Add(-time.Hour)) || !q.To.Equal(now) || q.Limit != 20 || q.MinDuration != 0 {
				t.Errorf("%+v", q)
			}
		}},
		{"unix ms and rfc3339", "from=1795651200000&to=2026-11-26T11:30:00Z", nil, "", func(t *testing.T, q storage.TraceQuery) {
			if q.From.UnixMilli() != 1795651200000 || !q.To.Equal(time.Date(2026, 11, 26, 11, 30, 0, 0, time.UTC)) {
				t.Errorf("%+v", q)
			}
		}},
		{"filters", "service=a&operation=GET+%2F&min_duration_ms=250&limit=5&status=error", []string{"http.route=/x", "k=v=w"}, "", func(t *testing.T, q storage.TraceQuery) {
			if q.Service != "a" || q.Operation != "GET /" || q.MinDuration != 250*time.Millisecond || q.Limit != 5 ||
				!q.ErrorsOnly || q.Attributes["http.route"] != "/x" || q.Attributes["k"] != "v=w" {
				t.Errorf("%+v", q)
			}
		}},
		{"bad from", "from=yesterday", nil, "from", nil},
		{"from after to", "from=2000&to=1000", nil, "from", nil},
		{"limit too big", "limit=1001", nil, "limit", nil},
		{"negative duration", "min_duration_ms=-1", nil, "min_duration_ms", nil},
		{"bad status", "status=weird", nil, "status", nil},
		{"bad attr", "", []string{"novalue"}, "attr", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vals, _ := url.ParseQuery(tc.query)
			get := func(k string, _ ...string) string { return vals.Get(k) }
			q, err := parseTraceQuery(get, tc.attrs, now)
			if tc.wantErr != "" {
				var pe *paramError
				if !errors.As(err, &pe) || pe.param != tc.wantErr {
					t.Fatalf("error %v, want a paramError for %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, q)
		})
	}
}

func TestParseTraceID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"5b8efff798038103d269b633813fc60c", true},
		{"5B8EFFF798038103D269B633813FC60C", true},
		{"5b8efff798038103d269b633813fc60", false},
		{"zz8efff798038103d269b633813fc60c", false},
		{"00000000000000000000000000000000", false},
		{"", false},
	} {
		_, err := parseTraceID(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("parseTraceID(%q) error %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}
