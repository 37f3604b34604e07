package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/log"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
)

// Temporal's task tokens are not signed: a token names namespace id, workflow id, run id and activity, and the history
// service completes whatever activity a well-formed token names (with no scheduled event id: by activity id, even one
// that never started). An agent learns those ids from its own tasks, so without more it could forge the answer to an
// activity of another host, or of the main worker, in the same workflow.
//
// So the frontend binds every token it hands an agent to that agent: HMAC-SHA256(key, agent ‖ 0 ‖ token) goes out
// appended to the token as protobuf field 1000, which Temporal's own reading of the token (the namespace check that runs
// before this interceptor) skips as unknown. An agent's answer is accepted only with a token sealed for that same
// agent, and the seal is taken off before Temporal's handler sees it. The key is shared by every frontend (a file) or,
// without one, made at start: then tokens handed out before a restart are refused and their activities retried when
// they time out.
type tokenSealer struct{ key []byte }

const sealField protowire.Number = 1000

// sealHeader is field 1000's tag and the MAC's length, in front of the MAC at the end of a sealed token.
var sealHeader = protowire.AppendVarint(protowire.AppendTag(nil, sealField, protowire.BytesType), sha256.Size)

func newTokenSealer(keyFile string, logger log.Logger) (*tokenSealer, error) {
	if keyFile == "" {
		logger.Warn("IDCFLOW_TEMPORAL_TOKEN_KEY_FILE is not set: agents' task tokens are sealed with a key made at start, " +
			"good for one frontend process only")
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		return &tokenSealer{key: key}, nil
	}
	text, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(text)))
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("%s must hold at least 32 bytes in hex", keyFile)
	}
	return &tokenSealer{key: key}, nil
}

func (s *tokenSealer) mac(taskQueue string, token []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(taskQueue))
	h.Write([]byte{0})
	h.Write(token)
	return h.Sum(nil)
}

func (s *tokenSealer) seal(taskQueue string, token []byte) []byte {
	sealed := append(append([]byte{}, token...), sealHeader...)
	return append(sealed, s.mac(taskQueue, token)...)
}

func (s *tokenSealer) unseal(taskQueue string, sealed []byte) ([]byte, error) {
	refused := serviceerror.NewPermissionDenied(authorization.RequestUnauthorized, taskQueue+": not a task token handed to this agent")
	end := len(sealed) - len(sealHeader) - sha256.Size
	if end < 0 || !bytes.Equal(sealed[end:end+len(sealHeader)], sealHeader) {
		return nil, refused
	}
	token, mac := sealed[:end], sealed[end+len(sealHeader):]
	if !hmac.Equal(mac, s.mac(taskQueue, token)) {
		return nil, refused
	}
	return token, nil
}

// taskTokenOf points at the token of the answers an agent may give (the authorizer refuses it every other call).
func taskTokenOf(req any) *[]byte {
	switch r := req.(type) {
	case *workflowservice.RespondActivityTaskCompletedRequest:
		return &r.TaskToken
	case *workflowservice.RespondActivityTaskFailedRequest:
		return &r.TaskToken
	case *workflowservice.RespondActivityTaskCanceledRequest:
		return &r.TaskToken
	case *workflowservice.RecordActivityTaskHeartbeatRequest:
		return &r.TaskToken
	}
	return nil
}

// Intercept runs after Temporal's authorization interceptor, which put the caller's claims in the context.
func (s *tokenSealer) Intercept(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	claims, _ := ctx.Value(authorization.MappedClaims).(*authorization.Claims)
	host, isAgent := agentOf(claims)
	if !isAgent {
		return handler(ctx, req)
	}
	if token := taskTokenOf(req); token != nil {
		opened, err := s.unseal(host.taskQueue, *token)
		if err != nil {
			return nil, err
		}
		*token = opened
	}
	resp, err := handler(ctx, req)
	if task, ok := resp.(*workflowservice.PollActivityTaskQueueResponse); ok && err == nil && len(task.TaskToken) > 0 {
		task.TaskToken = s.seal(host.taskQueue, task.TaskToken)
	}
	return resp, err
}
