package web

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPISpec is the OpenAPI 3 description of /api/v1. openapi_test.go runs
// every documented operation against the real handlers and checks each
// response against it, so a handler and the document cannot disagree.
//
//go:embed openapi.json
var openAPISpec []byte

// OpenAPISpec returns the OpenAPI 3 document of /api/v1 (JSON). The caller
// must not modify it.
func OpenAPISpec() []byte { return openAPISpec }

// mountOpenAPI serves the document at /openapi.json of api (the /api/v1
// group). It must be mounted before the group's catch-all 404.
func (s *Server) mountOpenAPI(api fiber.Router) {
	api.Get("/openapi.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		c.Set(fiber.HeaderCacheControl, "no-cache")
		return c.Send(openAPISpec)
	})
}
