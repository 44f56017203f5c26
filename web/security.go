package web

import (
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Security headers on every response of the UI/API listener:
//
//   - Content-Security-Policy: only same-origin scripts, style sheets,
//     images, fonts and fetches; the inline theme script of index.html and
//     the <style> blocks of tracehound's own pages are allowed by their
//     SHA-256 hashes (computed at start from the embedded files, so a
//     rebuilt UI keeps working); style attributes are allowed (the UI's
//     graph and lists set them); no eval, no plugins, no framing, forms
//     post only here.
//   - X-Content-Type-Options: nosniff; X-Frame-Options: DENY;
//     Referrer-Policy: no-referrer; Cross-Origin-Opener-Policy: same-origin.
//   - Strict-Transport-Security, only when the listener serves TLS.
const (
	hstsValue = "max-age=31536000"
)

var (
	inlineScriptRE = regexp.MustCompile(`(?is)<script((?:\s[^>]*)?)>(.*?)</script>`)
	inlineStyleRE  = regexp.MustCompile(`(?is)<style(?:\s[^>]*)?>(.*?)</style>`)
	srcAttrRE      = regexp.MustCompile(`(?i)\ssrc\s*=`)
)

// inlineHashes returns the CSP hash sources ('sha256-…') of the inline
// scripts and styles of the given HTML documents.
func inlineHashes(docs ...[]byte) (scripts, styles []string) {
	hash := func(b []byte) string {
		sum := sha256.Sum256(b)
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	for _, d := range docs {
		for _, m := range inlineScriptRE.FindAllSubmatch(d, -1) {
			if srcAttrRE.Match(m[1]) || len(m[2]) == 0 {
				continue
			}
			scripts = append(scripts, hash(m[2]))
		}
		for _, m := range inlineStyleRE.FindAllSubmatch(d, -1) {
			styles = append(styles, hash(m[1]))
		}
	}
	slices.Sort(scripts)
	slices.Sort(styles)
	return slices.Compact(scripts), slices.Compact(styles)
}

// contentSecurityPolicy builds the policy for the UI in fsys plus
// tracehound's own pages.
func contentSecurityPolicy(fsys fs.FS) string {
	var docs [][]byte
	for _, name := range []string{"index.html", "placeholder.html"} {
		if b, err := fs.ReadFile(fsys, name); err == nil {
			docs = append(docs, b)
		}
	}
	docs = append(docs, []byte(minimalPlaceholder), []byte(loginPage))
	scripts, styles := inlineHashes(docs...)
	return strings.Join([]string{
		"default-src 'self'",
		strings.Join(append([]string{"script-src 'self'"}, scripts...), " "),
		// Style elements only from the server or by hash; style attributes
		// (the map and virtualised lists position elements with them) are
		// allowed. Browsers without CSP 3's -elem/-attr use style-src.
		"style-src 'self' 'unsafe-inline'",
		strings.Join(append([]string{"style-src-elem 'self'"}, styles...), " "),
		"style-src-attr 'unsafe-inline'",
		"img-src 'self' data: blob:",
		"font-src 'self' data:",
		"connect-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// useSecurity installs, before every route, the security headers, the
// request log and (when API tokens are configured) authentication with its
// login routes.
func (s *Server) useSecurity() {
	csp := contentSecurityPolicy(uiFiles)
	tls := s.opts.TLS != nil
	s.app.Use(func(c *fiber.Ctx) error {
		h := &c.Response().Header
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Content-Security-Policy", csp)
		if tls {
			h.Set("Strict-Transport-Security", hstsValue)
		}
		return c.Next()
	})
	s.app.Use(s.logRequest)
	s.mountAuth()
}

// logRequest logs every request at debug level: method, path (without the
// query string), status, duration and client address. Headers, cookies and
// bodies, which may hold credentials, are never logged. It runs the error
// handler itself so that the logged status is the one sent.
func (s *Server) logRequest(c *fiber.Ctx) error {
	start := time.Now()
	if err := c.Next(); err != nil {
		if herr := s.errorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	if s.log.Enabled(c.UserContext(), slog.LevelDebug) {
		s.log.Debug("HTTP request", "method", c.Method(), "path", c.Path(), "status", c.Response().StatusCode(),
			"duration", time.Since(start).Round(time.Microsecond), "remote", c.IP())
	}
	return nil
}
