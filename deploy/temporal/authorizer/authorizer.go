package main

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/api"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// What an agent may call besides polling its own queue. Each names the task by its token, which tasktokens.go checks
// was handed to this agent. The *ById variants (any activity, named by workflow and activity id) are not among them.
var agentAnswers = map[string]bool{
	"RespondActivityTaskCompleted": true,
	"RespondActivityTaskFailed":    true,
	"RespondActivityTaskCanceled":  true,
	"RecordActivityTaskHeartbeat":  true,
	// Read by the SDK's worker when it starts: the namespace's settings, no workflow's data.
	"DescribeNamespace": true,
}

// authorizer: the roles (api, worker, admin, ui, the system worker) as Temporal's default authorizer rules them; an
// agent only the work of its own task queue, in idcflow's namespace.
type authorizer struct {
	namespace string
	roles     authorization.Authorizer
	logger    log.Logger
}

func newAuthorizer(namespace string, logger log.Logger) authorization.Authorizer {
	return &authorizer{namespace: namespace, roles: authorization.NewDefaultAuthorizer(), logger: logger}
}

var (
	allow = authorization.Result{Decision: authorization.DecisionAllow}
	deny  = func(reason string) authorization.Result {
		return authorization.Result{Decision: authorization.DecisionDeny, Reason: reason}
	}
)

func (a *authorizer) Authorize(ctx context.Context, claims *authorization.Claims, target *authorization.CallTarget) (authorization.Result, error) {
	host, isAgent := agentOf(claims)
	if !isAgent {
		return a.roles.Authorize(ctx, claims, target)
	}
	result := a.agentCall(host, target)
	if result.Decision != authorization.DecisionAllow {
		a.logger.Warn("Agent call refused", tag.NewStringTag("agent", host.taskQueue),
			tag.NewStringTag("api", target.APIName), tag.NewStringTag("reason", result.Reason))
	}
	return result, nil
}

func (a *authorizer) agentCall(host agent, target *authorization.CallTarget) authorization.Result {
	if authorization.IsHealthCheckAPI(target.APIName) {
		return allow
	}
	method, inWorkflowService := strings.CutPrefix(target.APIName, api.WorkflowServicePrefix)
	if !inWorkflowService {
		return deny(fmt.Sprintf("%s may not call %s", host.taskQueue, target.APIName))
	}
	if target.Namespace != a.namespace {
		return deny(fmt.Sprintf("%s works in namespace %s only", host.taskQueue, a.namespace))
	}
	if method == "PollActivityTaskQueue" {
		poll, ok := target.Request.(*workflowservice.PollActivityTaskQueueRequest)
		if ok && poll.GetTaskQueue().GetName() == host.taskQueue {
			return allow
		}
		return deny(fmt.Sprintf("%s may poll its own task queue only", host.taskQueue))
	}
	if method == "ShutdownWorker" {
		// Sent by the SDK as a worker stops. An agent has no sticky queue (it runs no workflows) to unload, and reports
		// about its own queue only.
		stop, ok := target.Request.(*workflowservice.ShutdownWorkerRequest)
		if ok && stop.GetStickyTaskQueue() == "" && (stop.GetWorkerHeartbeat() == nil || stop.GetWorkerHeartbeat().GetTaskQueue() == host.taskQueue) {
			return allow
		}
		return deny(fmt.Sprintf("%s may stop its own worker only", host.taskQueue))
	}
	if agentAnswers[method] {
		return allow
	}
	return deny(fmt.Sprintf("%s may not call %s", host.taskQueue, method))
}
