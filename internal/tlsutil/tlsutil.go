// Package tlsutil builds the server TLS configuration of tracehound's
// listeners from certificate files, with optional client certificate
// verification (mTLS), and picks up renewed certificates without a
// restart.
package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Config is the TLS setting of one listener group (otlp.tls, http_tls).
// Empty CertFile means plain TCP (the default).
type Config struct {
	// CertFile is the PEM server certificate (chain). Default empty: no TLS.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of CertFile.
	KeyFile string `yaml:"key_file"`
	// ClientCAFile, when set, requires every client to present a
	// certificate signed by one of these PEM CA certificates (mutual TLS).
	ClientCAFile string `yaml:"client_ca_file"`
}

// Enabled reports whether TLS is configured.
func (c Config) Enabled() bool { return c.CertFile != "" }

// Validate checks that the settings fit together and the files exist;
// section names the YAML section in messages (e.g. "otlp.tls").
func (c Config) Validate(section string) error {
	var errs []error
	switch {
	case c.CertFile == "" && c.KeyFile != "":
		errs = append(errs, fmt.Errorf("%s.key_file is set without %s.cert_file", section, section))
	case c.CertFile != "" && c.KeyFile == "":
		errs = append(errs, fmt.Errorf("%s.cert_file is set without %s.key_file", section, section))
	}
	if c.ClientCAFile != "" && c.CertFile == "" {
		errs = append(errs, fmt.Errorf("%s.client_ca_file needs %s.cert_file and %s.key_file (mutual TLS is TLS)", section, section, section))
	}
	for field, f := range map[string]string{"cert_file": c.CertFile, "key_file": c.KeyFile, "client_ca_file": c.ClientCAFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", section, field, err))
		}
	}
	return errors.Join(errs...)
}

// reloadCheck is how often, at most, the certificate files are checked for
// changes (on a handshake). A variable for tests.
var reloadCheck = 10 * time.Second

// ServerConfig loads the certificate (and client CAs) and returns a TLS
// 1.2+ server configuration, or nil when TLS is not configured. A renewed
// certificate or key file is loaded at the first handshake after it
// changed (checked at most every 10 s); a bad new pair is ignored, the old
// one kept. A changed client CA file needs a restart.
func (c Config) ServerConfig() (*tls.Config, error) {
	if !c.Enabled() {
		return nil, nil
	}
	r := &reloader{certFile: c.CertFile, keyFile: c.KeyFile}
	if err := r.load(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.get,
	}
	if c.ClientCAFile != "" {
		pem, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("reading client CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA file %s holds no PEM certificate", c.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

type reloader struct {
	certFile, keyFile string

	mu              sync.Mutex
	cert            *tls.Certificate
	certMod, keyMod time.Time
	checked         time.Time
}

func modTime(path string) time.Time {
	if st, err := os.Stat(path); err == nil {
		return st.ModTime()
	}
	return time.Time{}
}

// load reads the pair; called with mu held or before use.
func (r *reloader) load() error {
	cm, km := modTime(r.certFile), modTime(r.keyFile)
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("loading TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.certMod, r.keyMod, r.checked = &cert, cm, km, time.Now()
	return nil
}

func (r *reloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) >= reloadCheck {
		r.checked = time.Now()
		if !modTime(r.certFile).Equal(r.certMod) || !modTime(r.keyFile).Equal(r.keyMod) {
			_ = r.load() // keep serving the old pair when the new one is incomplete
		}
	}
	return r.cert, nil
}
