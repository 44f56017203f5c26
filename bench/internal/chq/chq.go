// Package chq runs queries on ClickHouse over its HTTP interface, which
// needs no client library: the benchmark only reads a few numbers.
package chq

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client queries one ClickHouse HTTP endpoint (for example
// http://127.0.0.1:8123/) as the default user.
type Client struct {
	URL  string
	HTTP *http.Client
}

// New returns a client for baseURL.
func New(baseURL string) *Client {
	return &Client{URL: baseURL, HTTP: &http.Client{Timeout: 30 * time.Minute}}
}

// Query runs q and returns the response body, trimmed.
func (c *Client) Query(ctx context.Context, q string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, strings.NewReader(q))
	if err != nil {
		return "", err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("clickhouse: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return strings.TrimSpace(string(body)), nil
}

// Ints runs q, which must return one row of integers (TabSeparated), and
// returns them.
func (c *Client) Ints(ctx context.Context, q string) ([]int64, error) {
	out, err := c.Query(ctx, q+" FORMAT TabSeparated")
	if err != nil {
		return nil, err
	}
	f := strings.Split(out, "\t")
	vals := make([]int64, len(f))
	for i, s := range f {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("clickhouse: %q: not an integer row: %q", q, out)
		}
		vals[i] = v
	}
	return vals, nil
}

// Version returns the server version.
func (c *Client) Version(ctx context.Context) (string, error) {
	return c.Query(ctx, "SELECT version()")
}
