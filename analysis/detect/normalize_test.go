package detect

import (
	"strings"
	"testing"
)

func TestNormalizeOperation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		attrs map[string]string
		want  string
	}{
		{"plain name unchanged", "SELECT orders", nil, "SELECT orders"},
		{"numeric path segment", "GET /items/42", nil, "GET /items/{id}"},
		{"several ids", "GET /users/7/orders/123456", nil, "GET /users/{id}/orders/{id}"},
		{"uuid", "DELETE /carts/3f2504e0-4f89-11d3-9a0c-0305e82c3301", nil, "DELETE /carts/{id}"},
		{"embedded uuid", "GET /files/report-3f2504e0-4f89-11d3-9a0c-0305e82c3301.pdf", nil, "GET /files/report-{id}.pdf"},
		{"mongo object id", "GET /docs/507f1f77bcf86cd799439011", nil, "GET /docs/{id}"},
		{"long hex without digits", "GET /blobs/deadbeefdeadbeefcafe", nil, "GET /blobs/{id}"},
		{"hex glued to letters kept", "GET /x/zz1234abcd", nil, "GET /x/zz1234abcd"},
		{"embedded hex", "GET /img/thumb_3f2a9b7c1d.png", nil, "GET /img/thumb_{id}.png"},
		{"short hex word kept", "GET /cafe/menu", nil, "GET /cafe/menu"},
		{"email", "GET /users/jane.doe@example.com/prefs", nil, "GET /users/{id}/prefs"},
		{"query string dropped", "GET /search?q=shoes&page=2", nil, "GET /search"},
		{"fragment dropped", "GET /docs/intro#part-2", nil, "GET /docs/intro"},
		{"url host dropped", "GET http://inventory:8080/items/9?x=1", nil, "GET /items/{id}"},
		{"version segment kept", "GET /api/v1/items", nil, "GET /api/v1/items"},
		{"grpc method kept", "inventory.v1.Inventory/GetItem", nil, "inventory.v1.Inventory/GetItem"},
		{"prefixed number", "GET /pages/page-12", nil, "GET /pages/page-{id}"},
		{"date segment", "GET /reports/2024-01-31", nil, "GET /reports/{id}"},
		{"random token", "GET /share/aB3dE5fG7hJ9kL1mN", nil, "GET /share/{id}"},
		{"ulid", "GET /events/01ARZ3NDEKTSV4RRFFQ69G5FAV", nil, "GET /events/{id}"},
		{"word with number", "process order 12345", nil, "process order {id}"},
		{"whitespace collapsed", "  process \t  batch\n", nil, "process batch"},
		{"template kept", "GET /items/{id}", nil, "GET /items/{id}"},
		{
			"http.route wins for servers", "GET /items/77",
			map[string]string{"http.route": "/items/{itemId}", "http.request.method": "GET"},
			"GET /items/{itemId}",
		},
		{
			"http.route with deprecated method", "items",
			map[string]string{"http.route": "/items/:id", "http.method": "POST"},
			"POST /items/:id",
		},
		{
			"generic client name uses url.full", "GET",
			map[string]string{"http.request.method": "GET", "url.full": "https://inventory.internal/items/5?expand=1"},
			"GET /items/{id}",
		},
		{
			"generic old client name uses http.url", "HTTP GET",
			map[string]string{"http.method": "GET", "http.url": "http://inventory/items/5"},
			"GET /items/{id}",
		},
		{
			"generic name uses url.template", "GET",
			map[string]string{"http.request.method": "GET", "url.template": "/items/{id}", "url.full": "http://x/items/5"},
			"GET /items/{id}",
		},
		{"generic name without url stays", "GET", map[string]string{"http.request.method": "GET"}, "GET"},
		{
			"sql statement parameterised", "SELECT orders",
			map[string]string{"db.query.text": "SELECT * FROM orders WHERE id = 42 AND status = 'paid'"},
			"SELECT * FROM orders WHERE id = ? AND status = ?",
		},
		{
			"deprecated db.statement", "query",
			map[string]string{"db.statement": "select  name\n from items\twhere sku = 'A-1'"},
			"select name from items where sku = ?",
		},
		{
			"sql span name of a database span", "SELECT * FROM t WHERE id = 5",
			map[string]string{"db.system": "mysql"},
			"SELECT * FROM t WHERE id = ?",
		},
		{
			"non-sql statement ignored", "GET",
			map[string]string{"db.system": "redis", "db.statement": "GET user:123"},
			"GET",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := NormalizeOperation(tc.in, tc.attrs); got != tc.want {
				t.Errorf("NormalizeOperation(%q, %v) = %q, want %q", tc.in, tc.attrs, got, tc.want)
			}
		})
	}
}

func TestNormalizeSQL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"SELECT * FROM items WHERE id = 1", "SELECT * FROM items WHERE id = ?"},
		{"SELECT * FROM items WHERE id IN (1, 2, 3)", "SELECT * FROM items WHERE id IN (?)"},
		{"SELECT * FROM items WHERE id in ('a','b')", "SELECT * FROM items WHERE id in (?)"},
		{"SELECT * FROM t WHERE a IN(1,2) AND b NOT IN (3)", "SELECT * FROM t WHERE a IN(?) AND b NOT IN (?)"},
		{"SELECT * FROM t WHERE fn(1, 2) > 0", "SELECT * FROM t WHERE fn(?, ?) > ?"},
		{"INSERT INTO t VALUES (1,2),(3,4),(5,6) RETURNING id", "INSERT INTO t VALUES (?,?) RETURNING id"},
		{"SELECT * FROM items WHERE id IN ($1, $2, $3)", "SELECT * FROM items WHERE id IN (?)"},
		{"SELECT * FROM t WHERE a = $1 AND b = $2", "SELECT * FROM t WHERE a = ? AND b = ?"},
		{"INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')", "INSERT INTO t (a, b) VALUES (?, ?)"},
		{"SELECT 'it''s', \"Col1\", `col2` FROM t1", "SELECT ?, \"Col1\", `col2` FROM t1"},
		{"SELECT 1.5e10, -3, 0xFF, .5", "SELECT ?, -?, ?, ?"},
		{"SELECT a -- comment 123\nFROM t /* block 42 */ WHERE x = 5", "SELECT a FROM t WHERE x = ?"},
		{"SELECT E'esc\\'d', N'unicode' FROM t", "SELECT ?, ? FROM t"},
		{"SELECT $$dollar 'quoted'$$, $tag$x$tag$", "SELECT ?, ?"},
		{"SELECT col2, t3.col4 FROM tab5", "SELECT col2, t3.col4 FROM tab5"},
		{"UPDATE t SET v = 'a' WHERE id = 9;", "UPDATE t SET v = ? WHERE id = ?;"},
	}
	for _, tc := range tests {
		if got := normalizeSQL(tc.in); got != tc.want {
			t.Errorf("normalizeSQL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeTruncates(t *testing.T) {
	t.Parallel()
	long := "SELECT " + strings.Repeat("column_name, ", 50) + "x FROM t"
	if got := NormalizeOperation("q", map[string]string{"db.query.text": long}); len([]rune(got)) != 200 {
		t.Errorf("SQL not truncated to 200 characters: %d", len([]rune(got)))
	}
	name := "GET /" + strings.Repeat("ä", 300)
	if got := NormalizeOperation(name, nil); len([]rune(got)) != 200 {
		t.Errorf("name not truncated to 200 characters: %d", len([]rune(got)))
	}
}

func TestIsGenericName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"GET": true, "post": true, "HTTP GET": true, "HTTP": true, "": true, "_OTHER": true,
		"GET /items": false, "SELECT orders": false, "inventory.Inventory/Get": false,
	} {
		if got := isGenericName(name); got != want {
			t.Errorf("isGenericName(%q) = %v, want %v", name, got, want)
		}
	}
}

func BenchmarkNormalizeOperation(b *testing.B) {
	attrs := map[string]string{"db.query.text": "SELECT id, name, price FROM items WHERE id IN (1, 2, 3) AND shop = 'x'"}
	b.ReportAllocs()
	for b.Loop() {
		NormalizeOperation("GET /users/123/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301", nil)
		NormalizeOperation("SELECT items", attrs)
	}
}
