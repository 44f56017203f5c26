package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The web UI (React, built from ui/ by `make ui-build` into web/dist) is
// compiled into the binary, so it is served the same way whatever the
// working directory. A fresh clone has only web/dist/placeholder.html,
// which is served instead of index.html until the UI is built.
//
//go:embed all:dist
var embeddedDist embed.FS

// uiFiles is the file tree the UI is served from (dist/ of embeddedDist);
// tests swap it.
var uiFiles fs.FS = mustSub(embeddedDist, "dist")

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // dir is a constant that exists at compile time
	}
	return sub
}

const (
	uiRouteName = "ui"
	// Vite puts content-hashed file names under assets/: they never
	// change, so browsers may keep them for a year without asking.
	cacheImmutable = "public, max-age=31536000, immutable"
	// Everything else (index.html, favicon) is revalidated on each use;
	// the ETag makes that a 304.
	cacheRevalidate = "no-cache"
)

// mountUI serves the UI for every GET or HEAD that no earlier route
// answered: files of the build by path, and index.html for any other path
// (history routing: /traces/{id} etc. are client-side routes). Paths under
// /api stay the API's and get its JSON 404. Call it last in routes().
// Calling it twice is harmless.
func (s *Server) mountUI() {
	if s.app.GetRoute(uiRouteName).Name == uiRouteName {
		return
	}
	h := newUIHandler(uiFiles)
	if h.placeholder {
		s.log.Info("web UI not built: serving a placeholder page (run make build)")
	}
	s.app.Get("/*", h.serve).Name(uiRouteName)
}

// uiAsset is one file, read and prepared once at start.
type uiAsset struct {
	body        []byte
	gzipped     []byte // nil when compression does not pay
	contentType string
	etag        string
	immutable   bool
}

type uiHandler struct {
	files       map[string]*uiAsset // by slash path without the leading "/"
	index       *uiAsset
	placeholder bool // index is the "UI not built" page
}

// minimalPlaceholder is served when even placeholder.html is missing.
const minimalPlaceholder = `<!doctype html><meta charset="utf-8"><title>tracehound</title>` +
	`<p>UI not built — run <code>make build</code>. The API is under <a href="/api/v1/services">/api/v1</a>.</p>`

func newUIHandler(fsys fs.FS) *uiHandler {
	h := &uiHandler{files: map[string]*uiAsset{}}
	var placeholder *uiAsset
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable entries are skipped, not fatal
		}
		if strings.HasPrefix(d.Name(), ".") && p != "." {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil // .gitignore is not part of the UI
		}
		if d.IsDir() {
			return nil
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil
		}
		a := newUIAsset(p, body)
		if p == "placeholder.html" {
			placeholder = a
			return nil
		}
		h.files[p] = a
		return nil
	})
	h.index = h.files["index.html"]
	if h.index == nil {
		h.placeholder = true
		h.index = placeholder
		if h.index == nil {
			h.index = newUIAsset("index.html", []byte(minimalPlaceholder))
		}
	}
	return h
}

func newUIAsset(p string, body []byte) *uiAsset {
	sum := sha256.Sum256(body)
	a := &uiAsset{
		body:        body,
		contentType: contentTypeOf(p),
		etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
		immutable:   strings.HasPrefix(p, "assets/"),
	}
	if compressible(a.contentType) && len(body) >= 1024 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if buf.Len() < len(body)*9/10 {
			a.gzipped = buf.Bytes()
		}
	}
	return a
}

// contentTypeOf does not depend on the host's mime.types for the types a
// Vite build produces.
func contentTypeOf(p string) string {
	switch ext := strings.ToLower(path.Ext(p)); ext {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json", ".map":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".woff2":
		return "font/woff2"
	case ".woff":
		return "font/woff"
	case ".txt":
		return "text/plain; charset=utf-8"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
		return "application/octet-stream"
	}
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") || strings.HasPrefix(contentType, "application/json") ||
		strings.HasPrefix(contentType, "image/svg+xml")
}

func (h *uiHandler) serve(c *fiber.Ctx) error {
	p := c.Path()
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		return fiber.NewError(fiber.StatusNotFound, "no such API endpoint: "+c.Method()+" "+p)
	}
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	a := h.files[name]
	if a == nil {
		// A missing file (a stale hashed asset, a typo) is a 404, not
		// index.html: HTML served as a script only confuses the browser.
		if strings.HasPrefix(name, "assets/") || (path.Ext(name) != "" && !strings.Contains(name, "/")) {
			c.Set(fiber.HeaderCacheControl, cacheRevalidate)
			return c.Status(fiber.StatusNotFound).SendString("not found\n")
		}
		a = h.index // client-side route
	}
	return a.send(c)
}

func (a *uiAsset) send(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, a.contentType)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderETag, a.etag)
	if a.immutable {
		c.Set(fiber.HeaderCacheControl, cacheImmutable)
	} else {
		c.Set(fiber.HeaderCacheControl, cacheRevalidate)
	}
	if a.gzipped != nil {
		c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	}
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), a.etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	body := a.body
	if a.gzipped != nil && acceptsGzip(c.Get(fiber.HeaderAcceptEncoding)) {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		body = a.gzipped
	}
	return c.Status(fiber.StatusOK).Send(body)
}

func etagMatches(ifNoneMatch, etag string) bool {
	if ifNoneMatch == "" {
		return false
	}
	for _, t := range strings.Split(ifNoneMatch, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding, honouring "gzip;q=0".
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		if v, ok := strings.CutPrefix(q, "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}
