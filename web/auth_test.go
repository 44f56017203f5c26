package web

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/internal/authn"
	"github.com/tracehound/tracehound/internal/tlsutil"
	"github.com/tracehound/tracehound/internal/tlsutil/tlstest"
)

const apiToken = "api-token-0123456789abcdef"

func newAuthServer(t *testing.T, tlsOn bool) *Server {
	t.Helper()
	old := uiFiles
	uiFiles = builtUI()
	t.Cleanup(func() { uiFiles = old })
	r := fixtures()
	opts := Options{Traces: r, Analysis: r, Alerts: r, QueryTimeout: time.Second, APITokens: authn.New([]string{apiToken}),
		Zipkin: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })}
	if tlsOn {
		opts.TLS = &tls.Config{}
	}
	return New(opts)
}

func do(t *testing.T, s *Server, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := s.Handler().Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAPIAuth(t *testing.T) {
	s := newAuthServer(t, false)
	get := func(path string, hdr ...string) (*http.Response, string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return do(t, s, req)
	}
	for _, p := range []string{"/api/v1/services", "/api/v1/traces", "/metrics", "/api/services", "/api/v1/openapi.json"} {
		resp, body := get(p)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Bearer realm="tracehound"` ||
			!strings.Contains(body, `"error_type":"unauthorized"`) {
			t.Errorf("GET %s without token: %d %q %s", p, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
		if resp, _ := get(p, "Authorization", "Bearer wrong-token-0123456789"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token: %d", p, resp.StatusCode)
		}
		for _, h := range [][]string{{"Authorization", "Bearer " + apiToken}, {"X-API-Key", apiToken}} {
			if resp, body := get(p, h...); resp.StatusCode == http.StatusUnauthorized {
				t.Errorf("GET %s with %s: %d %s", p, h[0], resp.StatusCode, body)
			}
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/login"} {
		if resp, _ := get(p); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s is not open: %d", p, resp.StatusCode)
		}
	}
	// The UI sends browsers to the sign-in page.
	resp, _ := get("/traces/abc")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Ftraces%2Fabc" {
		t.Errorf("UI without session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Zipkin is ingest: the receiver checks its token, not the API.
	req := httptest.NewRequest(http.MethodPost, "/api/v2/spans", strings.NewReader("[]"))
	req.Header.Set("Content-Type", "application/json")
	if resp, _ := do(t, s, req); resp.StatusCode != http.StatusAccepted {
		t.Errorf("Zipkin: %d", resp.StatusCode)
	}
}

func TestLoginSessionLogout(t *testing.T) {
	s := newAuthServer(t, true)
	post := func(path string, form url.Values, hdr ...string) (*http.Response, string) {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return do(t, s, req)
	}
	resp, body := post("/login", url.Values{"token": {"wrong-token-0123456789"}, "next": {"/x"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not valid") || len(resp.Cookies()) != 0 {
		t.Fatalf("bad token: %d %v", resp.StatusCode, resp.Cookies())
	}
	if resp, _ := post("/login", url.Values{"token": {apiToken}}, "Origin", "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site login: %d", resp.StatusCode)
	}
	resp, _ = post("/login", url.Values{"token": {apiToken}, "next": {"//evil.example/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteStrictMode ||
		session.Value == apiToken || strings.Contains(session.Value, apiToken) {
		t.Fatalf("session cookie %+v", session)
	}
	for _, p := range []string{"/", "/api/v1/services", "/assets/index-AbC123.js"} {
		req := httptest.NewRequest(http.MethodGet, p, nil)
		req.AddCookie(session)
		if resp, body := do(t, s, req); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with session: %d %s", p, resp.StatusCode, body)
		}
	}
	forged := &http.Cookie{Name: sessionCookie, Value: strings.Repeat("ab", 32)}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/services", nil)
	req.AddCookie(forged)
	if resp, _ := do(t, s, req); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged session: %d", resp.StatusCode)
	}
	resp, _ = post("/logout", nil)
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 || resp.Cookies()[0].Expires.After(time.Now()) ||
		resp.Cookies()[0].Value != "" {
		t.Errorf("logout: %d %v", resp.StatusCode, resp.Cookies())
	}
}

func TestSecurityHeaders(t *testing.T) {
	s := newAuthServer(t, false)
	resp, _ := do(t, s, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	for k, v := range map[string]string{
		"X-Content-Type-Options":    "nosniff",
		"X-Frame-Options":           "DENY",
		"Referrer-Policy":           "no-referrer",
		"Strict-Transport-Security": "",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, d := range strings.Split(csp, "; ") {
		if (strings.HasPrefix(d, "script-src") || strings.HasPrefix(d, "style-src-elem")) && strings.Contains(d, "unsafe") ||
			strings.Contains(d, "unsafe-eval") {
			t.Errorf("CSP directive %q allows unsafe sources", d)
		}
	}
	// Errors carry them too; HSTS only with TLS.
	s = newAuthServer(t, true)
	resp, _ = do(t, s, httptest.NewRequest(http.MethodGet, "/api/v1/nothing", nil))
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Strict-Transport-Security") != hstsValue {
		t.Errorf("401 headers: %v", resp.Header)
	}
}

// TestCSPHashesInlineScripts: the theme script of the real index.html is
// allowed by its hash, so the UI runs under the policy.
func TestCSPHashesInlineScripts(t *testing.T) {
	doc := []byte("<html><head><script>\n  var a = 1;\n</script><script type=\"module\" src=\"/assets/x.js\"></script>" +
		"<style>body{}</style></head></html>")
	scripts, styles := inlineHashes(doc)
	sum := sha256.Sum256([]byte("\n  var a = 1;\n"))
	if want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; len(scripts) != 1 || scripts[0] != want || len(styles) != 1 {
		t.Fatalf("scripts %v styles %v", scripts, styles)
	}
	csp := contentSecurityPolicy(uiFiles)
	real, _ := inlineHashes(mustRead(t, "dist/index.html"))
	for _, h := range real {
		if !strings.Contains(csp, h) {
			t.Errorf("CSP %q does not allow inline script %s of index.html", csp, h)
		}
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := embeddedDist.ReadFile(name)
	if err != nil {
		return nil // UI not built: nothing inline to allow
	}
	return b
}

// TestHTTPSListener serves the API over TLS with a generated certificate.
func TestHTTPSListener(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "web CA")
	p := ca.Server(t, dir, "srv")
	cfg, err := tlsutil.Config{CertFile: p.CertFile, KeyFile: p.KeyFile}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Addr: "127.0.0.1:0", TLS: cfg})
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(t.Context())
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	resp, err := c.Get("https://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != hstsValue {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	if _, err := http.Get("http://" + s.Addr() + "/healthz"); err == nil {
		// a plain request to a TLS port gets no HTTP answer
		t.Log("plain HTTP got an answer from the TLS port")
	}
}
