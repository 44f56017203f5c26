// Package authn checks the bearer tokens (API keys) of OTLP and API
// requests. Tokens come from the configuration file or from environment
// variables; only their SHA-256 digests are kept, and a presented token is
// compared with every configured one in constant time.
package authn

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// MinTokenLength is the shortest token accepted: tokens are secrets meant
// to be generated (e.g. `openssl rand -hex 32`), not passwords.
const MinTokenLength = 16

// Config is the "auth" section of the tracehound configuration. With no
// token for a group, that group's endpoints need no authentication (the
// default; listeners are on loopback by default).
type Config struct {
	// OTLPTokens are accepted on the OTLP receivers (gRPC and HTTP) and on
	// the Zipkin endpoint. Default none.
	OTLPTokens []string `yaml:"otlp_tokens"`
	// OTLPTokensEnv names an environment variable holding more OTLP tokens,
	// separated by commas. Unset or empty adds none. Default
	// TRACEHOUND_OTLP_TOKENS.
	OTLPTokensEnv string `yaml:"otlp_tokens_env"`
	// APITokens are accepted on the UI, the JSON and Jaeger APIs and
	// /metrics (not on /healthz and /readyz). Default none.
	APITokens []string `yaml:"api_tokens"`
	// APITokensEnv names an environment variable holding more API tokens,
	// separated by commas. Default TRACEHOUND_API_TOKENS.
	APITokensEnv string `yaml:"api_tokens_env"`
}

// NewDefaultConfig returns the defaults documented on Config.
func NewDefaultConfig() Config {
	return Config{OTLPTokensEnv: "TRACEHOUND_OTLP_TOKENS", APITokensEnv: "TRACEHOUND_API_TOKENS"}
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate reports every problem, naming the setting but never a token.
func (c Config) Validate() error {
	var errs []error
	errs = append(errs, checkTokens("auth.otlp_tokens", c.OTLPTokens)...)
	errs = append(errs, checkTokens("auth.api_tokens", c.APITokens)...)
	for field, v := range map[string]string{"otlp_tokens_env": c.OTLPTokensEnv, "api_tokens_env": c.APITokensEnv} {
		if v != "" && !envNameRE.MatchString(v) {
			errs = append(errs, fmt.Errorf("auth.%s %q is not an environment variable name", field, v))
		}
	}
	return errors.Join(errs...)
}

// checkTokens validates tokens; messages name the position, not the value.
func checkTokens(where string, tokens []string) []error {
	var errs []error
	for i, t := range tokens {
		switch {
		case len(t) < MinTokenLength:
			errs = append(errs, fmt.Errorf("%s[%d] is %d characters; use at least %d (e.g. the output of `openssl rand -hex 32`)", where, i, len(t), MinTokenLength))
		case strings.ContainsFunc(t, func(r rune) bool { return r <= ' ' || r > '~' || r == ',' }):
			errs = append(errs, fmt.Errorf("%s[%d] contains a space, a comma or a character outside printable ASCII", where, i))
		}
	}
	return errs
}

// Resolve returns the OTLP and API token sets (nil for a group without
// tokens), adding the tokens of the environment variables.
func (c Config) Resolve(getenv func(string) string) (otlp, api *Tokens, err error) {
	group := func(list []string, env, where string) (*Tokens, error) {
		all := append([]string(nil), list...)
		if env != "" {
			for t := range strings.SplitSeq(getenv(env), ",") {
				if t = strings.TrimSpace(t); t != "" {
					all = append(all, t)
				}
			}
			if errs := checkTokens(env, all[len(list):]); len(errs) > 0 {
				return nil, fmt.Errorf("%s (%s): %w", env, where, errors.Join(errs...))
			}
		}
		return New(all), nil
	}
	if otlp, err = group(c.OTLPTokens, c.OTLPTokensEnv, "auth.otlp_tokens_env"); err != nil {
		return nil, nil, err
	}
	if api, err = group(c.APITokens, c.APITokensEnv, "auth.api_tokens_env"); err != nil {
		return nil, nil, err
	}
	return otlp, api, nil
}

// Tokens is a set of accepted tokens. A nil *Tokens accepts nothing; use
// Enabled to tell whether authentication is on.
type Tokens struct {
	digests  [][sha256.Size]byte
	sessions [][sha256.Size]byte
}

// New returns the set of tokens, or nil when there are none.
func New(tokens []string) *Tokens {
	if len(tokens) == 0 {
		return nil
	}
	t := &Tokens{}
	for _, tok := range tokens {
		t.digests = append(t.digests, sha256.Sum256([]byte(tok)))
		t.sessions = append(t.sessions, sessionDigest(tok))
	}
	return t
}

// Enabled reports whether t holds tokens (authentication is required).
func (t *Tokens) Enabled() bool { return t != nil && len(t.digests) > 0 }

// Len is the number of tokens.
func (t *Tokens) Len() int {
	if t == nil {
		return 0
	}
	return len(t.digests)
}

// Check reports whether token is one of the set. It hashes the token and
// compares the digest with every configured one in constant time, so the
// time taken reveals neither which token matched nor how much of it.
func (t *Tokens) Check(token string) bool {
	if t == nil || token == "" {
		return false
	}
	return match(t.digests, sha256.Sum256([]byte(token)))
}

func match(set [][sha256.Size]byte, d [sha256.Size]byte) bool {
	ok := 0
	for i := range set {
		ok |= subtle.ConstantTimeCompare(set[i][:], d[:])
	}
	return ok == 1
}

// sessionDigest derives the UI session cookie value of a token: a keyed
// hash, so the cookie is not the token itself and cannot be used as one.
func sessionDigest(token string) [sha256.Size]byte {
	key := sha256.Sum256([]byte(token))
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte("tracehound-ui-session-v1"))
	var d [sha256.Size]byte
	copy(d[:], m.Sum(nil))
	return d
}

// SessionValue returns the session cookie value for a token of the set,
// and false when the token is not in it.
func (t *Tokens) SessionValue(token string) (string, bool) {
	if !t.Check(token) {
		return "", false
	}
	d := sessionDigest(token)
	return hex.EncodeToString(d[:]), true
}

// CheckSession reports whether v is the session cookie value of a token of
// the set, in constant time.
func (t *Tokens) CheckSession(v string) bool {
	if t == nil || len(v) != 2*sha256.Size {
		return false
	}
	var d [sha256.Size]byte
	if _, err := hex.Decode(d[:], []byte(v)); err != nil {
		return false
	}
	return match(t.sessions, d)
}

// FromHeaders returns the token of a request: the credentials of an
// "Authorization: Bearer <token>" header (scheme case-insensitive), else
// the value of an "X-API-Key" header. get returns a header's value.
func FromHeaders(get func(name string) string) string {
	if h := strings.TrimSpace(get("Authorization")); h != "" {
		scheme, cred, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(cred)
		}
		return ""
	}
	return strings.TrimSpace(get("X-API-Key"))
}
