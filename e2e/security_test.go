package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tracehound/tracehound/internal/tlsutil/tlstest"
)

const (
	otlpToken = "otlp-e2e-token-4f1c2a9b8d7e"
	apiToken  = "api-e2e-token-9a8b7c6d5e4f"
)

// startSecureServer starts tracehound with a config that needs TLS on
// every listener, readiness checked over HTTPS with rootCAs.
func startSecureServer(t *testing.T, cfgPath string, env []string, client *http.Client) *server {
	t.Helper()
	s := &server{t: t, dataDir: t.TempDir(), out: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(binPath, "serve", "--data-dir", s.dataDir, "--otlp-grpc-addr", "127.0.0.1:0",
		"--otlp-http-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--config", cfgPath)
	s.cmd.Env = append(append(os.Environ(), "TRACEHOUND_CHDB_LIB="+libPath), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		if !s.stopped {
			s.stop()
		}
		if t.Failed() {
			t.Logf("tracehound output:\n%s", s.out.String())
		}
	})
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-s.exited:
			t.Fatalf("tracehound exited during start-up:\n%s", s.out.String())
		default:
		}
		out := s.out.String()
		if !strings.Contains(out, "Press Ctrl-C to stop") {
			continue
		}
		s.grpcAddr = bannerField(out, "OTLP gRPC:")
		s.otlpHTTP = bannerField(out, "OTLP HTTP:")
		s.apiAddr = strings.TrimSuffix(strings.TrimPrefix(bannerField(out, "UI and API:"), "https://"), "/")
		if resp, err := client.Get("https://" + s.apiAddr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
	}
	t.Fatalf("tracehound not ready after 90s:\n%s", s.out.String())
	return nil
}

func TestSecurityTLSAuth(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "e2e CA")
	stranger := tlstest.NewCA(t, "stranger CA")
	srvCert := ca.Server(t, dir, "server", "localhost", "127.0.0.1")
	clientCert := ca.Client(t, dir, "client", "exporter")
	strangerCert := stranger.Client(t, dir, "stranger", "exporter")
	cfg := writeConfig(t, fmt.Sprintf(`auth:
  otlp_tokens_env: TH_E2E_OTLP_TOKENS
  api_tokens: [%q]
otlp:
  tls:
    cert_file: %s
    key_file: %s
    client_ca_file: %s
http_tls:
  cert_file: %s
  key_file: %s
`, apiToken, srvCert.CertFile, srvCert.KeyFile, ca.WriteCert(t, dir, "ca"), srvCert.CertFile, srvCert.KeyFile))

	httpsClient := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport: &http.Transport{DisableKeepAlives: true,
				TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: certs}}}
	}
	apiClient := httpsClient()
	srv := startSecureServer(t, cfg, []string{"TH_E2E_OTLP_TOKENS=" + otlpToken}, apiClient)
	out := srv.out.String()
	for _, want := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT=https://", "UI and API: https://", "OTLP and Zipkin require a token", "UI and API require a token"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q", want)
		}
	}
	if strings.Contains(out, otlpToken) || strings.Contains(out, apiToken) {
		t.Error("a token appears in the server output")
	}

	t.Run("OTLP gRPC mTLS and token", func(t *testing.T) {
		send := func(creds credentials.TransportCredentials, token string) error {
			conn, err := grpc.NewClient(srv.grpcAddr, grpc.WithTransportCredentials(creds))
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if token != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
			}
			_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, makeRequest("secure-grpc", 5))
			return err
		}
		mtls := func(certs ...tls.Certificate) credentials.TransportCredentials {
			return credentials.NewTLS(&tls.Config{RootCAs: ca.Pool(), Certificates: certs, ServerName: "localhost"})
		}
		if err := send(mtls(clientCert.TLS), otlpToken); err != nil {
			t.Fatalf("client certificate and token: %v", err)
		}
		if err := send(mtls(clientCert.TLS), ""); status.Code(err) != codes.Unauthenticated {
			t.Errorf("no token: %v, want UNAUTHENTICATED", err)
		}
		if err := send(mtls(clientCert.TLS), apiToken); status.Code(err) != codes.Unauthenticated {
			t.Errorf("API token on OTLP: %v, want UNAUTHENTICATED", err)
		}
		if err := send(mtls(), otlpToken); err == nil {
			t.Error("no client certificate: accepted")
		}
		if err := send(mtls(strangerCert.TLS), otlpToken); err == nil {
			t.Error("client certificate of another CA: accepted")
		}
		if err := send(insecure.NewCredentials(), otlpToken); err == nil {
			t.Error("plain text: accepted")
		}
	})

	t.Run("OTLP HTTP", func(t *testing.T) {
		body, _ := makeRequest("secure-http", 5).MarshalProto()
		post := func(c *http.Client, token string) (*http.Response, error) {
			req, _ := http.NewRequest(http.MethodPost, "https://"+srv.otlpHTTP+"/v1/traces", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/x-protobuf")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			return resp, err
		}
		resp, err := post(httpsClient(clientCert.TLS), "")
		if err != nil || resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("no token: %v %v", resp, err)
		}
		if resp, err := post(httpsClient(clientCert.TLS), otlpToken); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("token and client certificate: %v %v", resp, err)
		}
		if _, err := post(httpsClient(), otlpToken); err == nil {
			t.Error("no client certificate: accepted")
		}
	})

	t.Run("API and UI", func(t *testing.T) {
		get := func(path, token string) *http.Response {
			req, _ := http.NewRequest(http.MethodGet, "https://"+srv.apiAddr+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := apiClient.Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		for _, p := range []string{"/healthz", "/readyz"} {
			if r := get(p, ""); r.StatusCode != http.StatusOK {
				t.Errorf("GET %s: %d, want open", p, r.StatusCode)
			}
		}
		for _, p := range []string{"/api/v1/services", "/metrics", "/api/services"} {
			if r := get(p, ""); r.StatusCode != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("GET %s without token: %d", p, r.StatusCode)
			}
			if r := get(p, otlpToken); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s with the OTLP token: %d", p, r.StatusCode)
			}
			if r := get(p, apiToken); r.StatusCode != http.StatusOK {
				t.Errorf("GET %s with token: %d", p, r.StatusCode)
			}
		}
		r := get("/", "")
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
			t.Errorf("UI without session: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
		for k, want := range map[string]string{"Strict-Transport-Security": "max-age=31536000", "X-Frame-Options": "DENY",
			"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
		// Sign in with the form, then browse with the cookie.
		form := url.Values{"token": {apiToken}, "next": {"/services"}}
		req, _ := http.NewRequest(http.MethodPost, "https://"+srv.apiAddr+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := apiClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cookies := resp.Cookies()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/services" || len(cookies) != 1 || !cookies[0].Secure {
			t.Fatalf("sign-in: %d %q %v", resp.StatusCode, resp.Header.Get("Location"), cookies)
		}
		req, _ = http.NewRequest(http.MethodGet, "https://"+srv.apiAddr+"/api/v1/services", nil)
		req.AddCookie(cookies[0])
		if resp, err := apiClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("API with the session cookie: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
	})

	t.Run("Zipkin uses the OTLP tokens", func(t *testing.T) {
		zipkin := `[{"traceId":"5b8efff798038103d269b633813fc60c","id":"eee19b7ec3c1b174","name":"get","timestamp":1700000000000000,"duration":10,"localEndpoint":{"serviceName":"zipkin-secure"}}]`
		for token, want := range map[string]int{"": 401, apiToken: 401, otlpToken: 202} {
			req, _ := http.NewRequest(http.MethodPost, "https://"+srv.apiAddr+"/api/v2/spans", strings.NewReader(zipkin))
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := apiClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("Zipkin with token %q: %d, want %d", token[:min(4, len(token))], resp.StatusCode, want)
			}
		}
	})

	t.Run("stored spans readable with the API token", func(t *testing.T) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			req, _ := http.NewRequest(http.MethodGet, "https://"+srv.apiAddr+"/api/v1/traces?service=secure-grpc", nil)
			req.Header.Set("X-API-Key", apiToken)
			resp, err := apiClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(b), `"root_service":"secure-grpc"`) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("spans sent over mTLS not found: %d %s", resp.StatusCode, b)
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}

// TestConfigRejectsShortTokens: tokens that are too short stop the server
// at start-up, and the message does not echo them.
func TestConfigRejectsShortTokens(t *testing.T) {
	cfg := writeConfig(t, "auth:\n  api_tokens: [\"hunter2\"]\n")
	cmd := exec.Command(binPath, "serve", "--data-dir", t.TempDir(), "--config", cfg)
	cmd.Env = append(os.Environ(), "TRACEHOUND_CHDB_LIB="+libPath)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "auth.api_tokens[0] is 7 characters") || strings.Contains(string(out), "hunter2") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
}
