package detect

import (
	"net/url"
	"strings"
)

// maxOperationRunes is the length operations are truncated to.
const maxOperationRunes = 200

// idPlaceholder replaces identifiers in names and paths.
const idPlaceholder = "{id}"

// NormalizeOperation returns the operation name used to group spans: ids,
// numbers, UUIDs, long hex strings and e-mail-like tokens in names and URL
// paths become "{id}", query strings and fragments are dropped, and SQL
// literals become "?". attrs are the span's string attributes (may be nil).
// In order of preference the result is
//
//   - the parameterised SQL statement (db.query.text, or the deprecated
//     db.statement) when it is present and starts with an SQL keyword;
//   - the parameterised span name of a database span (db.system.name or
//     db.system set) whose name starts with an SQL keyword;
//   - "METHOD route" from http.route (and http.request.method or the
//     deprecated http.method) when http.route is present (HTTP server
//     spans);
//   - for a generic HTTP span name ("GET", "HTTP GET", "HTTP", …), "METHOD
//     path" from url.template, url.path, http.target, url.full or http.url;
//   - otherwise the normalised span name.
//
// Whitespace is collapsed and the result is at most 200 characters long.
func NormalizeOperation(name string, attrs map[string]string) string {
	return normalizeOperation(name, attrs, nil)
}

// normCache memoises name and statement normalisation within one Detect
// call; the same names and statements recur across the traces of a batch.
type normCache struct {
	names map[string]string
	sql   map[string]string
}

// newNormCache returns an empty cache.
func newNormCache() *normCache {
	return &normCache{names: make(map[string]string), sql: make(map[string]string)}
}

// name normalises a span name or path, using the cache when c is not nil.
func (c *normCache) name(s string) string {
	if c == nil {
		return normalizeName(s)
	}
	if v, ok := c.names[s]; ok {
		return v
	}
	v := normalizeName(s)
	c.names[s] = v
	return v
}

// statement normalises an SQL statement, using the cache when c is not nil.
func (c *normCache) statement(s string) string {
	if c == nil {
		return normalizeSQL(s)
	}
	if v, ok := c.sql[s]; ok {
		return v
	}
	v := normalizeSQL(s)
	c.sql[s] = v
	return v
}

// normalizeOperation implements NormalizeOperation with an optional cache.
func normalizeOperation(name string, attrs map[string]string, c *normCache) string {
	if stmt := firstAttr(attrs, "db.query.text", "db.statement"); stmt != "" && looksLikeSQL(stmt) {
		return c.statement(stmt)
	}
	if firstAttr(attrs, "db.system.name", "db.system") != "" && looksLikeSQL(name) {
		// Older instrumentations name database spans after the statement.
		return c.statement(name)
	}
	method := firstAttr(attrs, "http.request.method", "http.method")
	if method == "_OTHER" {
		method = ""
	}
	if route := attrs["http.route"]; route != "" {
		if method == "" {
			method = genericMethod(name)
		}
		return joinMethod(method, c.name(route))
	}
	if isGenericName(name) {
		if method == "" {
			method = genericMethod(name)
		}
		if p := urlPath(attrs); p != "" {
			return joinMethod(method, c.name(p))
		}
	}
	return c.name(name)
}

// joinMethod returns "method path", or path alone when method is empty.
func joinMethod(method, path string) string {
	if method == "" {
		return path
	}
	return method + " " + path
}

// firstAttr returns the first non-empty value among keys.
func firstAttr(attrs map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := attrs[k]; v != "" {
			return v
		}
	}
	return ""
}

// urlPath returns the templated or raw path of an HTTP span from its
// attributes, or "".
func urlPath(attrs map[string]string) string {
	if p := attrs["url.template"]; p != "" {
		return p
	}
	if p := firstAttr(attrs, "url.path", "http.target"); p != "" {
		return p
	}
	if u := firstAttr(attrs, "url.full", "http.url"); u != "" {
		if pu, err := url.Parse(u); err == nil && pu.Path != "" {
			return pu.Path
		}
	}
	return ""
}

// httpMethods are the request methods recognised in generic span names.
var httpMethods = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true,
	"HEAD": true, "OPTIONS": true, "CONNECT": true, "TRACE": true, "_OTHER": true,
}

// isGenericName reports whether a span name says nothing about the
// operation beyond the protocol: empty, an HTTP method alone, "HTTP",
// "HTTP GET" or similar.
func isGenericName(name string) bool {
	n := strings.TrimSpace(name)
	if n == "" {
		return true
	}
	u := strings.ToUpper(n)
	if httpMethods[u] {
		return true
	}
	switch u {
	case "HTTP", "HTTPS", "HTTP REQUEST", "HTTP.REQUEST", "HTTP CLIENT", "HTTP SERVER":
		return true
	}
	if rest, ok := strings.CutPrefix(u, "HTTP "); ok && httpMethods[strings.TrimSpace(rest)] {
		return true
	}
	return false
}

// genericMethod extracts the HTTP method from a generic span name, or "".
func genericMethod(name string) string {
	u := strings.ToUpper(strings.TrimSpace(name))
	u = strings.TrimSpace(strings.TrimPrefix(u, "HTTP "))
	if httpMethods[u] && u != "_OTHER" {
		return u
	}
	return ""
}

// sqlKeywords are the first words that mark a db statement as SQL.
var sqlKeywords = map[string]bool{
	"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "WITH": true,
	"REPLACE": true, "MERGE": true, "UPSERT": true, "CALL": true, "EXEC": true,
	"EXECUTE": true, "CREATE": true, "ALTER": true, "DROP": true, "TRUNCATE": true,
	"SET": true, "SHOW": true, "VALUES": true, "EXPLAIN": true, "BEGIN": true,
	"COMMIT": true, "ROLLBACK": true, "LOCK": true, "GRANT": true, "REVOKE": true,
	"DESCRIBE": true, "USE": true, "ANALYZE": true, "VACUUM": true, "COPY": true,
}

// looksLikeSQL reports whether a statement starts (after spaces, comments
// and opening parentheses) with an SQL keyword.
func looksLikeSQL(s string) bool {
	for {
		s = strings.TrimLeft(s, " \t\r\n(")
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return false
			}
			s = s[i+1:]
			continue
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s, "*/")
			if i < 0 {
				return false
			}
			s = s[i+2:]
			continue
		}
		break
	}
	end := 0
	for end < len(s) && isIdentByte(s[end]) {
		end++
	}
	return end > 0 && sqlKeywords[strings.ToUpper(s[:end])]
}

// isIdentByte reports whether b can be part of an SQL identifier.
func isIdentByte(b byte) bool {
	return b == '_' || b == '$' || isAlnum(b) || b >= 0x80
}

// isAlnum reports whether b is an ASCII letter or digit.
func isAlnum(b byte) bool { return isDigit(b) || isLetter(b) }

// isDigit reports whether b is an ASCII digit.
func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// isLetter reports whether b is an ASCII letter.
func isLetter(b byte) bool { return (b|0x20) >= 'a' && (b|0x20) <= 'z' }

// isHex reports whether b is an ASCII hex digit.
func isHex(b byte) bool { return isDigit(b) || ((b|0x20) >= 'a' && (b|0x20) <= 'f') }

// normalizeSQL replaces string, number and dollar-quoted literals and
// numbered placeholders with "?", drops comments, collapses whitespace,
// collapses IN lists to "IN (?)" and repeated VALUES tuples to one, and
// truncates to 200 characters. Quoted identifiers are kept.
func normalizeSQL(s string) string {
	var b strings.Builder
	b.Grow(min(len(s), 4*maxOperationRunes))
	space := false // whitespace seen since the last token
	emit := func(tok string) {
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteString(tok)
	}
	i := 0
	for i < len(s) && b.Len() < 8*maxOperationRunes {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			space = true
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			space = true
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				i = len(s)
			} else {
				i += j + 4
			}
			space = true
		case c == '\'':
			i = skipQuoted(s, i, '\'')
			emit("?")
		case c == '"' || c == '`':
			j := skipQuoted(s, i, c)
			emit(s[i:j])
			i = j
		case c == '$':
			// $1 placeholder, or $$…$$ / $tag$…$tag$ dollar-quoted string.
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j > i+1 && (j == len(s) || !isIdentByte(s[j])) {
				emit("?")
				i = j
				break
			}
			j = i + 1
			for j < len(s) && (isAlnum(s[j]) || s[j] == '_') {
				j++
			}
			if j < len(s) && s[j] == '$' {
				tag := s[i : j+1]
				k := strings.Index(s[j+1:], tag)
				if k < 0 {
					i = len(s)
				} else {
					i = j + 1 + k + len(tag)
				}
				emit("?")
				break
			}
			emit("$")
			i++
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			i = skipNumber(s, i)
			emit("?")
		case isIdentByte(c):
			j := i
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			if p := c | 0x20; j == i+1 && j < len(s) && s[j] == '\'' && (p == 'e' || p == 'n' || p == 'x' || p == 'b') {
				// The prefix of an E'', N'', X'' or B'' string literal.
				i = j
				break
			}
			emit(s[i:j])
			i = j
		default:
			emit(s[i : i+1])
			i++
		}
	}
	out := b.String()
	if strings.Contains(out, "(?") {
		out = collapsePlaceholderLists(out)
	}
	return truncateRunes(out, maxOperationRunes)
}

// skipQuoted returns the index just after the quoted text starting at s[i]
// (a doubled quote or a backslash escapes the quote), or len(s).
func skipQuoted(s string, i int, q byte) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// skipNumber returns the index just after the numeric literal at s[i]:
// decimal, with fraction and exponent, or 0x hex.
func skipNumber(s string, i int) int {
	if s[i] == '0' && i+1 < len(s) && (s[i+1]|0x20) == 'x' {
		j := i + 2
		for j < len(s) && isHex(s[j]) {
			j++
		}
		return j
	}
	j := i
	for j < len(s) && (isDigit(s[j]) || s[j] == '.') {
		j++
	}
	if j < len(s) && (s[j]|0x20) == 'e' {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && isDigit(s[k]) {
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			j = k
		}
	}
	return j
}

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	count := 0
	for i := range s {
		if count == n {
			return s[:i]
		}
		count++
	}
	return s
}

// normalizeName normalises a span name or URL path: it drops the scheme and
// host of URLs and any query string or fragment, replaces id-like segments
// (see isIDSegment) and ids embedded in segments with "{id}", collapses
// whitespace and truncates to 200 characters.
func normalizeName(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	if strings.Contains(s, "/") {
		if i := strings.IndexAny(s, "?#"); i >= 0 && strings.Contains(s[:i], "/") {
			s = strings.TrimSpace(s[:i])
		}
		if i := strings.Index(s, "://"); i >= 0 {
			// Drop "scheme://host" of a URL inside the name.
			start := strings.LastIndexAny(s[:i], " \t") + 1
			rest := s[i+3:]
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				s = s[:start] + rest[j:]
			} else {
				s = s[:start] + "/"
			}
		}
	}
	if !needsIDScan(s) {
		return truncateRunes(s, maxOperationRunes)
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	seg := 0
	space := false
	flush := func(end int) {
		if end > seg {
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteString(normalizeSegment(s[seg:end]))
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '/':
			flush(i)
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteByte('/')
			seg = i + 1
		case ' ', '\t', '\n', '\r':
			flush(i)
			if b.Len() > 0 {
				space = true
			}
			seg = i + 1
		}
	}
	flush(len(s))
	return truncateRunes(b.String(), maxOperationRunes)
}

// needsIDScan reports whether s may contain an id or whitespace to
// collapse: it has a digit, an '@', a run of whitespace other than single
// spaces, or a letter run of 16 or more characters.
func needsIDScan(s string) bool {
	letters := 0
	prevSpace := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c) || c == '@' || c == '\t' || c == '\n' || c == '\r':
			return true
		case c == ' ':
			if prevSpace {
				return true
			}
			prevSpace = true
			letters = 0
			continue
		case isLetter(c):
			letters++
			if letters >= 16 {
				return true
			}
		default:
			letters = 0
		}
		prevSpace = false
	}
	return false
}

// normalizeSegment normalises one path segment or word.
func normalizeSegment(seg string) string {
	if isIDSegment(seg) {
		return idPlaceholder
	}
	if !strings.ContainsFunc(seg, func(r rune) bool { return r >= '0' && r <= '9' }) {
		return seg
	}
	return replaceDetachedNumbers(replaceEmbeddedHex(seg))
}

// replaceDetachedNumbers replaces each run of digits that is not adjacent to
// a letter, a dot or a brace (as in "user-123" or "page_7", but not "v1",
// "1.2" or "{id}") with "{id}".
func replaceDetachedNumbers(seg string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(seg); {
		if !isDigit(seg[i]) {
			i++
			continue
		}
		j := i
		for j < len(seg) && isDigit(seg[j]) {
			j++
		}
		attached := (i > 0 && attaches(seg[i-1])) || (j < len(seg) && attaches(seg[j]))
		if !attached {
			b.WriteString(seg[last:i])
			b.WriteString(idPlaceholder)
			last = j
		}
		i = j
	}
	if last == 0 {
		return seg
	}
	b.WriteString(seg[last:])
	return b.String()
}

// attaches reports whether a digit run next to c is part of a word.
func attaches(c byte) bool {
	return isLetter(c) || c == '.' || c == '{' || c == '}' || c >= 0x80
}

// isIDSegment reports whether a whole path segment or word is an
// identifier: a number (also with separators, such as a date or "1.2"), a
// UUID, a hex string (8+ characters with a digit, or 16+), an e-mail-like
// token, or a long random-looking token (16+ letters, digits, '-' or '_',
// with at least two digits and a letter).
func isIDSegment(seg string) bool {
	n := len(seg)
	if n == 0 {
		return false
	}
	if isDigit(seg[0]) {
		numeric := true
		for i := 0; i < n; i++ {
			c := seg[i]
			if !isDigit(c) && !strings.ContainsRune("-._:,+", rune(c)) {
				numeric = false
				break
			}
		}
		if numeric {
			return true
		}
	}
	if n == 36 && isUUID(seg) {
		return true
	}
	if isHexID(seg) {
		return true
	}
	if at := strings.IndexByte(seg, '@'); at > 0 && strings.Contains(seg[at+1:], ".") {
		return true
	}
	if n >= 16 {
		digits, letters := 0, 0
		for i := 0; i < n; i++ {
			c := seg[i]
			switch {
			case isDigit(c):
				digits++
			case isLetter(c):
				letters++
			case c == '-' || c == '_':
			default:
				return false
			}
		}
		return digits >= 2 && letters >= 1
	}
	return false
}

// isHexID reports whether s is a hex string that looks like an id: at least
// 8 characters including a digit, or at least 16.
func isHexID(s string) bool {
	if len(s) < 8 {
		return false
	}
	digit := false
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
		digit = digit || isDigit(s[i])
	}
	return digit || len(s) >= 16
}

// placeholderTuple returns the end (just after ')') of the parenthesised
// list starting at s[i] == '(' when it holds only "?" placeholders, commas
// and spaces, or -1.
func placeholderTuple(s string, i int) int {
	seen := false
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '?':
			seen = true
		case ',', ' ':
		case ')':
			if seen {
				return j + 1
			}
			return -1
		default:
			return -1
		}
	}
	return -1
}

// collapsePlaceholderLists rewrites "IN (?, ?, …)" as "IN (?)" and a run
// of placeholder tuples "(?, ?), (?, ?), …" (a multi-row VALUES clause) as
// its first tuple, so that statements differing only in list lengths group
// together.
func collapsePlaceholderLists(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '(' {
			continue
		}
		end := placeholderTuple(s, i)
		if end < 0 {
			continue
		}
		if isINBefore(s, i) {
			b.WriteString(s[last:i])
			b.WriteString("(?)")
			last, i = end, end-1
			continue
		}
		// Skip the tuples that follow: ", (?, ?)".
		next := end
		for {
			k := next
			for k < len(s) && s[k] == ' ' {
				k++
			}
			if k >= len(s) || s[k] != ',' {
				break
			}
			k++
			for k < len(s) && s[k] == ' ' {
				k++
			}
			if k >= len(s) || s[k] != '(' {
				break
			}
			e := placeholderTuple(s, k)
			if e < 0 {
				break
			}
			next = e
		}
		if next > end {
			b.WriteString(s[last:end])
			last = next
		}
		i = next - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// isINBefore reports whether the keyword IN (any case) precedes s[i],
// optionally separated by one space.
func isINBefore(s string, i int) bool {
	j := i
	if j > 0 && s[j-1] == ' ' {
		j--
	}
	if j < 2 || (s[j-2]|0x20) != 'i' || (s[j-1]|0x20) != 'n' {
		return false
	}
	return j == 2 || !isIdentByte(s[j-3])
}

// isUUID reports whether s is a UUID in 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// replaceEmbeddedHex replaces UUIDs and id-like hex runs (see isHexID)
// inside a token with "{id}", when they are not glued to other letters or
// digits.
func replaceEmbeddedHex(seg string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(seg); {
		if !isHex(seg[i]) || (i > 0 && isAlnum(seg[i-1])) {
			i++
			continue
		}
		end := -1
		if i+36 <= len(seg) && isUUID(seg[i:i+36]) {
			end = i + 36
		} else {
			j := i
			for j < len(seg) && isHex(seg[j]) {
				j++
			}
			if isHexID(seg[i:j]) {
				end = j
			} else {
				i = j
				continue
			}
		}
		if end < len(seg) && isAlnum(seg[end]) {
			i = end
			continue
		}
		b.WriteString(seg[last:i])
		b.WriteString(idPlaceholder)
		last, i = end, end
	}
	if last == 0 {
		return seg
	}
	b.WriteString(seg[last:])
	return b.String()
}
