package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// newUITestServer serves fsys as the UI. mountUI is idempotent, so this
// works whether or not routes() already mounts it.
func newUITestServer(t *testing.T, fsys fs.FS) *Server {
	t.Helper()
	old := uiFiles
	uiFiles = fsys
	t.Cleanup(func() { uiFiles = old })
	s := New(Options{})
	s.mountUI()
	return s
}

type uiResponse struct {
	status int
	header http.Header
	body   []byte
}

func uiGet(t *testing.T, s *Server, method, target string, header map[string]string) uiResponse {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.Handler().Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return uiResponse{resp.StatusCode, resp.Header, body}
}

var bigJS = "export const x = '" + strings.Repeat("tracehound ", 500) + "';\n"

func builtUI() fstest.MapFS {
	return fstest.MapFS{
		"index.html":             {Data: []byte(`<!doctype html><div id="root"></div>`)},
		"placeholder.html":       {Data: []byte(`UI not built`)},
		".gitignore":             {Data: []byte("*\n")},
		"favicon.svg":            {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"assets/index-AbC123.js": {Data: []byte(bigJS)},
		"assets/index-Xy9.css":   {Data: []byte(`body{}`)},
	}
}

func TestUIServesIndexAndHashedAssetsWithCacheHeaders(t *testing.T) {
	s := newUITestServer(t, builtUI())

	r := uiGet(t, s, "GET", "/", nil)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`id="root"`)) {
		t.Fatalf("GET /: %d %q", r.status, r.body)
	}
	if got := r.header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("GET / Content-Type = %q", got)
	}
	if got := r.header.Get("Cache-Control"); got != "no-cache" {
		t.Errorf("GET / Cache-Control = %q, want no-cache", got)
	}

	r = uiGet(t, s, "GET", "/assets/index-AbC123.js", nil)
	if r.status != 200 || string(r.body) != bigJS {
		t.Fatalf("GET asset: %d, %d bytes", r.status, len(r.body))
	}
	if got := r.header.Get("Content-Type"); got != "text/javascript; charset=utf-8" {
		t.Errorf("asset Content-Type = %q", got)
	}
	if got := r.header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("asset Cache-Control = %q", got)
	}
	if got := uiGet(t, s, "GET", "/assets/index-Xy9.css", nil).header.Get("Content-Type"); got != "text/css; charset=utf-8" {
		t.Errorf("css Content-Type = %q", got)
	}

	r = uiGet(t, s, "GET", "/favicon.svg", nil)
	if r.header.Get("Content-Type") != "image/svg+xml" || r.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("favicon: %q %q", r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
	}
}

func TestUISPAFallback(t *testing.T) {
	s := newUITestServer(t, builtUI())
	for _, p := range []string{
		"/services", "/traces", "/traces/5b8efff798038103d269b633813fc60c?span=eee19b7ec3c1b174",
		"/findings?kind=chatty", "/map", "/no/such/page", "/placeholder.html/x",
	} {
		r := uiGet(t, s, "GET", p, nil)
		if r.status != 200 || !bytes.Contains(r.body, []byte(`id="root"`)) {
			t.Errorf("GET %s: %d %q, want index.html", p, r.status, r.body)
		}
		if r.header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q", p, r.header.Get("Cache-Control"))
		}
	}
	// HEAD works like GET, without a body.
	if r := uiGet(t, s, "HEAD", "/findings", nil); r.status != 200 || len(r.body) != 0 {
		t.Errorf("HEAD /findings: %d, %d bytes", r.status, len(r.body))
	}
}

func TestUIMissingAssetIs404NotIndex(t *testing.T) {
	s := newUITestServer(t, builtUI())
	for _, p := range []string{"/assets/index-Old999.js", "/robots.txt", "/.gitignore"} {
		r := uiGet(t, s, "GET", p, nil)
		if r.status != 404 || bytes.Contains(r.body, []byte("root")) {
			t.Errorf("GET %s: %d %q, want a plain 404", p, r.status, r.body)
		}
	}
}

func TestUILeavesAPIAndProbesAlone(t *testing.T) {
	s := newUITestServer(t, builtUI())
	for _, p := range []string{"/api/v1/nope", "/api/v2/x", "/api", "/api/"} {
		r := uiGet(t, s, "GET", p, nil)
		var body apiError
		if r.status != 404 || json.Unmarshal(r.body, &body) != nil || body.ErrorType != "not_found" {
			t.Errorf("GET %s: %d %q, want the API's JSON 404", p, r.status, r.body)
		}
	}
	if r := uiGet(t, s, "GET", "/healthz", nil); r.status != 200 || string(r.body) != "ok\n" {
		t.Errorf("/healthz: %d %q", r.status, r.body)
	}
	if r := uiGet(t, s, "GET", "/metrics", nil); r.status != 200 || bytes.Contains(r.body, []byte("root")) {
		t.Errorf("/metrics: %d", r.status)
	}
	if r := uiGet(t, s, "POST", "/services", nil); r.status == 200 {
		t.Errorf("POST /services: %d, want an error", r.status)
	}
}

func TestUIGzipAndETag(t *testing.T) {
	s := newUITestServer(t, builtUI())
	r := uiGet(t, s, "GET", "/assets/index-AbC123.js", map[string]string{"Accept-Encoding": "br, gzip"})
	if r.header.Get("Content-Encoding") != "gzip" || r.header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip not used: %v", r.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != bigJS || len(r.body) >= len(bigJS) {
		t.Errorf("gzip body: %d bytes, decoded %d", len(r.body), len(plain))
	}
	if r := uiGet(t, s, "GET", "/assets/index-AbC123.js", map[string]string{"Accept-Encoding": "gzip;q=0"}); r.header.Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 still compressed")
	}

	etag := uiGet(t, s, "GET", "/", nil).header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on index.html")
	}
	if r := uiGet(t, s, "GET", "/traces", map[string]string{"If-None-Match": etag}); r.status != 304 || len(r.body) != 0 {
		t.Errorf("If-None-Match: %d, %d bytes, want 304", r.status, len(r.body))
	}
}

func TestUIPlaceholderWhenNotBuilt(t *testing.T) {
	s := newUITestServer(t, fstest.MapFS{
		"placeholder.html": {Data: []byte(`<h1>UI not built — run make build</h1>`)},
		".gitignore":       {Data: []byte("*\n")},
	})
	for _, p := range []string{"/", "/findings"} {
		r := uiGet(t, s, "GET", p, nil)
		if r.status != 200 || !bytes.Contains(r.body, []byte("UI not built")) || r.header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: %d %q %q", p, r.status, r.body, r.header.Get("Cache-Control"))
		}
	}
	// Even without the placeholder file there is a page, not a blank.
	s = newUITestServer(t, fstest.MapFS{})
	if r := uiGet(t, s, "GET", "/", nil); r.status != 200 || !bytes.Contains(r.body, []byte("UI not built")) {
		t.Errorf("empty dist: %d %q", r.status, r.body)
	}
}

// The embedded tree is either the built UI or the committed placeholder.
func TestUIEmbedded(t *testing.T) {
	s := New(Options{})
	s.mountUI()
	s.mountUI() // idempotent
	r := uiGet(t, s, "GET", "/", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %q", r.status, r.header.Get("Content-Type"))
	}
	if !bytes.Contains(r.body, []byte(`id="root"`)) && !bytes.Contains(r.body, []byte("UI not built")) {
		t.Errorf("GET / is neither the UI nor the placeholder: %q", r.body)
	}
	if _, err := fs.Stat(uiFiles, "placeholder.html"); err != nil {
		t.Errorf("web/dist/placeholder.html is not embedded: %v", err)
	}
}
