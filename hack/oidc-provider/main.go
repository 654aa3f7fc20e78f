// Command legation-oidc-provider runs a real OpenID provider on loopback for the tests.
//
// It is github.com/oauth2-proxy/mockoidc (discovery, authorization-code flow with PKCE,
// token, userinfo and JWKS endpoints, RS256-signed tokens) with a fixed client and a login
// page in front of its authorization endpoint: the page asks for a user name and the
// tokens issued afterwards are for that user (subject = the name typed), so a browser
// test really logs in. On start it prints one JSON line with the issuer and endpoints,
// then serves until it is killed or its standard input closes.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/oauth2-proxy/mockoidc"
)

const loginPage = `<!doctype html>
<html><head><title>Test provider login</title></head>
<body><h1>Sign in to the test provider</h1>
<form method="get" action="%s">%s
<label>User name <input id="username" name="login" autofocus></label>
<button id="signin" type="submit">Sign in</button>
</form></body></html>`

// loginForm answers the authorization endpoint with a login page until the request
// carries `login`; then it queues that user and lets mockoidc issue the code.
func loginForm(m *mockoidc.MockOIDC) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
			if req.URL.Path != mockoidc.AuthorizationEndpoint {
				next.ServeHTTP(rw, req)
				return
			}
			login := strings.TrimSpace(req.URL.Query().Get("login"))
			if login == "" {
				var hidden strings.Builder
				for key, values := range req.URL.Query() {
					for _, v := range values {
						fmt.Fprintf(&hidden, `<input type="hidden" name="%s" value="%s">`,
							html.EscapeString(key), html.EscapeString(v))
					}
				}
				rw.Header().Set("Content-Type", "text/html; charset=utf-8")
				rw.Header().Set("Cache-Control", "no-store")
				fmt.Fprintf(rw, loginPage, mockoidc.AuthorizationEndpoint, hidden.String())
				return
			}
			m.QueueUser(&mockoidc.MockUser{
				Subject:           login,
				Email:             login + "@example.test",
				EmailVerified:     true,
				PreferredUsername: login,
			})
			next.ServeHTTP(rw, req)
		})
	}
}

// basicCredentials lets the token endpoint take the client's credentials in an
// `Authorization: Basic` header (client_secret_basic, the OAuth2 default) as well as in
// the form: mockoidc itself reads only the form.
func basicCredentials(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		if id, secret, ok := req.BasicAuth(); ok && req.URL.Path == mockoidc.TokenEndpoint {
			if err := req.ParseForm(); err == nil {
				req.Form.Set("client_id", id)
				req.Form.Set("client_secret", secret)
			}
		}
		next.ServeHTTP(rw, req)
	})
}

func main() {
	address := flag.String("listen", "127.0.0.1:0", "address to listen on")
	clientID := flag.String("client-id", "legation-test", "the one OAuth2 client's id")
	clientSecret := flag.String("client-secret", "legation-test-secret", "its secret")
	flag.Parse()

	m, err := mockoidc.NewServer(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oidc-provider:", err)
		os.Exit(1)
	}
	m.ClientID, m.ClientSecret = *clientID, *clientSecret
	if err := m.AddMiddleware(basicCredentials); err != nil {
		fmt.Fprintln(os.Stderr, "oidc-provider:", err)
		os.Exit(1)
	}
	if err := m.AddMiddleware(loginForm(m)); err != nil {
		fmt.Fprintln(os.Stderr, "oidc-provider:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", *address)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oidc-provider:", err)
		os.Exit(1)
	}
	if err := m.Start(ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, "oidc-provider:", err)
		os.Exit(1)
	}
	info, _ := json.Marshal(map[string]string{
		"issuer":                 m.Issuer(),
		"discovery_endpoint":     m.DiscoveryEndpoint(),
		"authorization_endpoint": m.AuthorizationEndpoint(),
		"token_endpoint":         m.TokenEndpoint(),
		"userinfo_endpoint":      m.UserinfoEndpoint(),
		"jwks_uri":               m.JWKSEndpoint(),
		"client_id":              m.ClientID,
	})
	fmt.Println(string(info))
	// Serve until the test that started us goes away (stdin closes) or kills us.
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = m.Shutdown()
}
