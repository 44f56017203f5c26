package authn

import (
	"strings"
	"testing"
)

const tokA, tokB = "0123456789abcdef0123", "fedcba9876543210fedc"

func TestCheck(t *testing.T) {
	ts := New([]string{tokA, tokB})
	for tok, want := range map[string]bool{tokA: true, tokB: true, "": false, tokA + "x": false, tokA[:19]: false, "nope": false} {
		if got := ts.Check(tok); got != want {
			t.Errorf("Check(%q) = %v", tok, got)
		}
	}
	var none *Tokens
	if none.Enabled() || none.Check(tokA) || New(nil) != nil {
		t.Error("nil set")
	}
	if !ts.Enabled() || ts.Len() != 2 {
		t.Error("Enabled/Len")
	}
}

func TestSessions(t *testing.T) {
	ts := New([]string{tokA})
	v, ok := ts.SessionValue(tokA)
	if !ok || v == tokA || !ts.CheckSession(v) {
		t.Fatalf("session %q %v", v, ok)
	}
	if _, ok := ts.SessionValue(tokB); ok {
		t.Error("session for unknown token")
	}
	if ts.CheckSession(tokA) || ts.CheckSession("zz"+v[2:]) || ts.Check(v) {
		t.Error("session value confusion")
	}
}

func TestFromHeaders(t *testing.T) {
	for _, tc := range []struct {
		auth, key, want string
	}{
		{"Bearer abc", "", "abc"},
		{"bearer   abc ", "", "abc"},
		{"Basic abc", "xyz", ""},
		{"", "xyz", "xyz"},
		{"", "", ""},
	} {
		h := map[string]string{"Authorization": tc.auth, "X-API-Key": tc.key}
		if got := FromHeaders(func(k string) string { return h[k] }); got != tc.want {
			t.Errorf("%+v: got %q", tc, got)
		}
	}
}

func TestValidateAndResolve(t *testing.T) {
	c := NewDefaultConfig()
	c.OTLPTokens = []string{"short", tokA, "has space in it!!!!"}
	c.APITokensEnv = "1BAD"
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"auth.otlp_tokens[0] is 5 characters", "auth.otlp_tokens[2] contains", "auth.api_tokens_env \"1BAD\""} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v: missing %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "short") || strings.Contains(err.Error(), tokA) {
		t.Errorf("error shows a token: %v", err)
	}

	c = NewDefaultConfig()
	c.APITokens = []string{tokA}
	env := map[string]string{"TRACEHOUND_OTLP_TOKENS": " " + tokB + " ,," + tokA}
	otlp, api, err := c.Resolve(func(k string) string { return env[k] })
	if err != nil || otlp.Len() != 2 || api.Len() != 1 || !otlp.Check(tokA) || api.Check(tokB) {
		t.Fatalf("resolve: %v %d %d", err, otlp.Len(), api.Len())
	}
	env["TRACEHOUND_API_TOKENS"] = "tiny"
	if _, _, err := c.Resolve(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "TRACEHOUND_API_TOKENS") || strings.Contains(err.Error(), "tiny") {
		t.Fatalf("bad env token: %v", err)
	}
	otlp, api, err = NewDefaultConfig().Resolve(func(string) string { return "" })
	if err != nil || otlp != nil || api != nil {
		t.Fatal("no tokens configured should mean no authentication")
	}
}
