package tlsutil

import (
	"crypto/tls"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/internal/tlsutil/tlstest"
)

// handshake dials a TLS server using cfg and returns the handshake error.
func handshake(t *testing.T, srv *tls.Config, client *tls.Config) error {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		err = c.(*tls.Conn).Handshake()
		if err == nil {
			_, err = c.Write([]byte("ok"))
		}
		done <- err
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err == nil {
		// TLS 1.3 reports a rejected client certificate on the first read.
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadFull(conn, make([]byte, 2))
		conn.Close()
	}
	<-done
	return err
}

func TestServerConfigTLSAndMTLS(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test CA")
	other := tlstest.NewCA(t, "other CA")
	srvPair := ca.Server(t, dir, "server")
	good := ca.Client(t, dir, "client", "exporter-1")
	bad := other.Client(t, dir, "intruder", "exporter-2")

	cfg, err := Config{CertFile: srvPair.CertFile, KeyFile: srvPair.KeyFile}.ServerConfig()
	if err != nil || cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("%v %v", cfg, err)
	}
	if err := handshake(t, cfg, &tls.Config{RootCAs: ca.Pool()}); err != nil {
		t.Errorf("TLS handshake: %v", err)
	}
	if err := handshake(t, cfg, &tls.Config{RootCAs: other.Pool()}); err == nil {
		t.Error("client accepted a certificate from an unknown CA")
	}

	mcfg, err := Config{CertFile: srvPair.CertFile, KeyFile: srvPair.KeyFile, ClientCAFile: ca.WriteCert(t, dir, "ca")}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, mcfg, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{good.TLS}}); err != nil {
		t.Errorf("mTLS with a good client certificate: %v", err)
	}
	if err := handshake(t, mcfg, &tls.Config{RootCAs: ca.Pool()}); err == nil {
		t.Error("mTLS accepted a client without certificate")
	}
	if err := handshake(t, mcfg, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{bad.TLS}}); err == nil {
		t.Error("mTLS accepted a client certificate from another CA")
	}
}

func TestCertificateReload(t *testing.T) {
	dir := t.TempDir()
	ca1, ca2 := tlstest.NewCA(t, "one"), tlstest.NewCA(t, "two")
	p := ca1.Server(t, dir, "server")
	cfg, err := Config{CertFile: p.CertFile, KeyFile: p.KeyFile}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(t, cfg, &tls.Config{RootCAs: ca1.Pool()}); err != nil {
		t.Fatalf("first certificate: %v", err)
	}
	ca2.Server(t, dir, "server") // renewed in place, by another CA
	future := time.Now().Add(time.Minute)
	_ = os.Chtimes(p.CertFile, future, future)
	reloadCheck = 0
	defer func() { reloadCheck = 10 * time.Second }()
	if err := handshake(t, cfg, &tls.Config{RootCAs: ca2.Pool()}); err != nil {
		t.Errorf("renewed certificate not served: %v", err)
	}
	// A broken renewal keeps the working pair.
	_ = os.WriteFile(p.KeyFile, []byte("garbage"), 0o600)
	_ = os.Chtimes(p.KeyFile, future.Add(time.Minute), future.Add(time.Minute))
	if err := handshake(t, cfg, &tls.Config{RootCAs: ca2.Pool()}); err != nil {
		t.Errorf("broken renewal: %v", err)
	}
}

func TestValidate(t *testing.T) {
	if err := (Config{}).Validate("otlp.tls"); err != nil {
		t.Fatal(err)
	}
	err := Config{KeyFile: "k", ClientCAFile: "/nonexistent/ca.pem"}.Validate("otlp.tls")
	for _, want := range []string{"otlp.tls.key_file is set without otlp.tls.cert_file", "otlp.tls.client_ca_file needs", "otlp.tls.client_ca_file: stat /nonexistent/ca.pem"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: missing %q", err, want)
		}
	}
	if _, err := (Config{CertFile: "/nonexistent", KeyFile: "/nonexistent"}).ServerConfig(); err == nil {
		t.Error("missing files loaded")
	}
}
