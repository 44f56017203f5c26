package web

import (
	"html"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tracehound/tracehound/internal/authn"
)

// With API tokens configured (auth.api_tokens), every route but the probes
// needs one: scripts and Prometheus send "Authorization: Bearer <token>"
// (or "X-API-Key: <token>"); browsers sign in once on /login, which sets an
// HttpOnly, SameSite=Strict session cookie derived from the token (not the
// token itself). The Zipkin endpoint is ingest: the receivers check it
// against the OTLP tokens.

const (
	sessionCookie = "tracehound_session"
	// sessionMaxAge is how long a browser keeps the session cookie.
	sessionMaxAge = 7 * 24 * 3600
)

// openPaths need no token: probes and the sign-in page.
var openPaths = map[string]bool{"/healthz": true, "/readyz": true, "/login": true, "/logout": true, "/favicon.svg": true}

func (s *Server) mountAuth() {
	if !s.opts.APITokens.Enabled() {
		return
	}
	s.app.Use(s.requireToken)
	s.app.Get("/login", s.loginForm)
	s.app.Post("/login", s.login)
	s.app.Post("/logout", s.logout)
}

// authenticated reports whether the request carries a valid API token or
// session cookie.
func (s *Server) authenticated(c *fiber.Ctx) bool {
	t := s.opts.APITokens
	if tok := authn.FromHeaders(func(k string) string { return c.Get(k) }); tok != "" {
		return t.Check(tok)
	}
	return t.CheckSession(c.Cookies(sessionCookie))
}

func (s *Server) requireToken(c *fiber.Ctx) error {
	p := c.Path()
	if openPaths[p] || p == zipkinPath {
		return c.Next()
	}
	if s.authenticated(c) {
		return c.Next()
	}
	s.log.Debug("API request without a valid token", "method", c.Method(), "path", p, "remote", c.IP())
	browserPage := (c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead) &&
		!strings.HasPrefix(p, "/api/") && p != "/api" && p != "/metrics" &&
		c.Get(fiber.HeaderAuthorization) == ""
	if browserPage {
		return c.Redirect("/login?next="+url.QueryEscape(p), fiber.StatusSeeOther)
	}
	c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="tracehound"`)
	return c.Status(fiber.StatusUnauthorized).JSON(apiError{
		Error:     "authentication required: send \"Authorization: Bearer <token>\" with a token from auth.api_tokens, or sign in at /login",
		ErrorType: "unauthorized",
	})
}

// safeNext returns next when it is a path on this server, else "/".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

// sameOrigin rejects cross-site form posts (Origin of another host).
func sameOrigin(c *fiber.Ctx) bool {
	o := c.Get(fiber.HeaderOrigin)
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == c.Hostname()
}

func (s *Server) loginForm(c *fiber.Ctx) error {
	return s.renderLogin(c, fiber.StatusOK, "", safeNext(c.Query("next")))
}

func (s *Server) renderLogin(c *fiber.Ctx, status int, msg, next string) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	page := strings.NewReplacer("{{message}}", html.EscapeString(msg), "{{next}}", html.EscapeString(next)).Replace(loginPage)
	return c.Status(status).SendString(page)
}

func (s *Server) login(c *fiber.Ctx) error {
	next := safeNext(c.FormValue("next"))
	if !sameOrigin(c) {
		return s.renderLogin(c, fiber.StatusForbidden, "Cross-site sign-in refused.", next)
	}
	v, ok := s.opts.APITokens.SessionValue(strings.TrimSpace(c.FormValue("token")))
	if !ok {
		s.log.Info("UI sign-in with an invalid token", "remote", c.IP())
		return s.renderLogin(c, fiber.StatusUnauthorized, "That token is not valid.", next)
	}
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: v, Path: "/", MaxAge: sessionMaxAge,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: s.opts.TLS != nil})
	return c.Redirect(next, fiber.StatusSeeOther)
}

func (s *Server) logout(c *fiber.Ctx) error {
	if !sameOrigin(c) {
		return c.SendStatus(fiber.StatusForbidden)
	}
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: "", Path: "/", Expires: time.Unix(1, 0),
		HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: s.opts.TLS != nil})
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// loginPage is the sign-in form; its inline style is allowed by the CSP
// through its hash (see contentSecurityPolicy), so it must stay constant.
const loginPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>tracehound — sign in</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; margin: 0; display: grid; place-items: center; min-height: 100vh; }
  form { display: grid; gap: 12px; width: min(360px, 90vw); padding: 28px; border: 1px solid #8884; border-radius: 12px; }
  input, button { font: inherit; padding: 8px 10px; }
  .msg { color: #c0392b; min-height: 1.5em; margin: 0; }
</style>
</head>
<body>
<form method="post" action="/login">
  <h1>tracehound</h1>
  <label for="token">API token (auth.api_tokens)</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  <input type="hidden" name="next" value="{{next}}">
  <p class="msg">{{message}}</p>
  <button type="submit">Sign in</button>
</form>
</body>
</html>
`

// zipkinPath is the Zipkin v2 upload route (ingest, authenticated by the
// receivers with the OTLP tokens).
const zipkinPath = "/api/v2/spans"
