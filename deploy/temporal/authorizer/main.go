// The Temporal server as idcflow runs it in production: Temporal's own server (go.temporal.io/server, the version in
// go.mod) with idcflow's authorization in front of its frontend. A client is who its certificate's common name says
// (claims.go), may do what authorizer.go allows, and an agent's activity task tokens are bound to it (tasktokens.go).
//
//	temporal-server --config-dir /etc/temporal/config --env production start
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	_ "time/tzdata" // embed tzdata as a fallback

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/headers"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql" // PostgreSQL persistence and visibility
	"go.temporal.io/server/temporal"
)

func main() {
	configDir := flag.String("config-dir", "config", "the folder of the server's config files")
	env := flag.String("env", "production", "the config file to load from it: <env>.yaml")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: %s [flags] start|render-config|version\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	command := flag.Arg(0)
	if command == "version" {
		fmt.Println(headers.ServerVersion)
		return
	}
	if command != "start" && command != "render-config" {
		flag.Usage()
		os.Exit(2)
	}
	cfg, err := config.LoadConfig(*env, *configDir, "")
	if err != nil {
		fail("Unable to load configuration: %v", err)
	}
	if command == "render-config" {
		fmt.Println(cfg.String())
		return
	}
	if !cfg.Global.TLS.Frontend.Server.RequireClientAuth {
		fail("global.tls.frontend.server.requireClientAuth must be true: idcflow's authorization knows clients by their certificates")
	}
	logger := log.NewZapLogger(log.BuildZapLogger(cfg.Log))

	namespace := envOr("IDCFLOW_TEMPORAL_NAMESPACE", "default")
	sealer, err := newTokenSealer(os.Getenv("IDCFLOW_TEMPORAL_TOKEN_KEY_FILE"), logger)
	if err != nil {
		fail("Task token key: %v", err)
	}
	var dynamicConfigClient dynamicconfig.Client = dynamicconfig.NewNoopClient()
	if cfg.DynamicConfigClient != nil {
		dynamicConfigClient, err = dynamicconfig.NewFileBasedClient(cfg.DynamicConfigClient, logger, temporal.InterruptCh())
		if err != nil {
			fail("Unable to create dynamic config client: %v", err)
		}
	}
	logger.Info("idcflow authorization", tag.NewStringTag("namespace", namespace), tag.NewStringTag("server-version", headers.ServerVersion))

	server, err := temporal.NewServer(
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithConfig(cfg),
		temporal.WithDynamicConfigClient(dynamicConfigClient),
		temporal.WithLogger(logger),
		temporal.InterruptOn(temporal.InterruptCh()),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return certificateClaims{namespace: namespace} }),
		temporal.WithAuthorizer(newAuthorizer(namespace, logger)),
		temporal.WithChainedFrontendGrpcInterceptors(sealer.Intercept),
	)
	if err != nil {
		fail("Unable to create server: %v", err)
	}
	if err := server.Start(); err != nil {
		fail("Unable to start server: %v", err)
	}
}

func envOr(name, fallback string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return fallback
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
