package main

import (
	"regexp"
	"strings"

	"go.temporal.io/server/common/authorization"
)

// The common names of the certificates scripts/temporal-certs.ts issues, and what each may do.
const (
	cnSystem = "temporal-system" // the server's own system worker
	cnAdmin  = "idcflow-admin"   // an operator's CLI, the namespace job
	cnAPI    = "idcflow-api"
	cnWorker = "idcflow-worker"
	cnUI     = "idcflow-ui" // the Temporal UI: reads only
)

// An agent's certificate names its host: CN=host:<name>, the name of its task queue too.
const agentPrefix = "host:"

// idcflow's host names (api/compute/schemas.ts).
var hostName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// agent is what claims carry for a host agent: the task queue it may serve.
type agent struct{ taskQueue string }

// certificateClaims maps a verified client certificate's subject to Temporal's claims. Without a certificate (which
// requireClientAuth already refuses) or with an unknown name, the claims hold no role and every call is refused.
type certificateClaims struct{ namespace string }

var _ authorization.ClaimMapper = certificateClaims{}
var _ authorization.ClaimMapperWithAuthInfoRequired = certificateClaims{}

func (m certificateClaims) GetClaims(info *authorization.AuthInfo) (*authorization.Claims, error) {
	if info.TLSSubject == nil {
		return &authorization.Claims{}, nil
	}
	cn := info.TLSSubject.CommonName
	claims := &authorization.Claims{Subject: cn}
	switch {
	case cn == cnSystem || cn == cnAdmin:
		claims.System = authorization.RoleAdmin
	case cn == cnAPI || cn == cnWorker:
		claims.Namespaces = map[string]authorization.Role{m.namespace: authorization.RoleAdmin}
	case cn == cnUI:
		claims.System = authorization.RoleReader
	case strings.HasPrefix(cn, agentPrefix) && hostName.MatchString(strings.TrimPrefix(cn, agentPrefix)):
		claims.Extensions = agent{taskQueue: cn}
	}
	return claims, nil
}

// AuthInfoRequired: a call without a certificate gets no claims at all.
func (certificateClaims) AuthInfoRequired() bool { return true }

func agentOf(claims *authorization.Claims) (agent, bool) {
	if claims == nil {
		return agent{}, false
	}
	a, ok := claims.Extensions.(agent)
	return a, ok
}
