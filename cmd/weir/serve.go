package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/env"
)

const serveUsage = `usage: weir serve [flags]

Runs a single Weir broker: the Kafka protocol on --listen, data in --data-dir.
Stops cleanly (every partition fsynced) on SIGINT or SIGTERM.

`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	def := broker.DefaultConfig()
	var (
		configFile = fs.String("config", "", "server.properties-style file; flags given explicitly override it")
		listen     = fs.String("listen", def.ListenAddr, "host:port to listen on")
		advertised = fs.String("advertised-listener", "", "host:port clients are told to connect to (default: the listen address)")
		dataDir    = fs.String("data-dir", def.DataDir, "directory for partition logs and metadata")
		nodeID     = fs.Int("node-id", int(def.NodeID), "this broker's node id")
		noFsync    = fs.Bool("no-fsync", false, "answer acks=all without waiting for fsync (Kafka's page-cache durability; sets weir.fsync.acks.all=false)")
		logLevel   = fs.String("log-level", "info", "debug, info, warn or error")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "weir serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "weir serve: --log-level: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg := def
	if *configFile != "" {
		f, err := os.Open(*configFile)
		if err != nil {
			fmt.Fprintf(stderr, "weir serve: %v\n", err)
			return 1
		}
		warnings, err := broker.ParseProperties(f, &cfg)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "weir serve: %s: %v\n", *configFile, err)
			return 1
		}
		for _, w := range warnings {
			logger.Warn("config", "file", *configFile, "warning", w)
		}
	}
	// Flags given on the command line win over the file.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "listen":
			cfg.ListenAddr = *listen
		case "advertised-listener":
			cfg.AdvertisedAddr = *advertised
		case "data-dir":
			cfg.DataDir = *dataDir
		case "node-id":
			cfg.NodeID = int32(*nodeID)
		case "no-fsync":
			cfg.FsyncAcksAll = !*noFsync
		}
	})
	cfg.Logger = logger

	b, err := broker.Open(cfg, broker.Deps{FS: env.OSFS{}, Net: env.OSNet{}, Clock: env.RealClock{}})
	if err != nil {
		fmt.Fprintf(stderr, "weir serve: %v\n", err)
		return 1
	}
	ln, err := b.Listen(ctx)
	if err != nil {
		b.Close()
		fmt.Fprintf(stderr, "weir serve: %v\n", err)
		return 1
	}
	logger.Info("weir broker serving", "listen", ln.Addr().String(), "advertised", b.Addr(), "data_dir", cfg.DataDir, "node_id", cfg.NodeID, "fsync_acks_all", cfg.FsyncAcksAll)
	serveErr := b.Serve(ctx, ln)
	closeErr := b.Close()
	switch {
	case serveErr != nil:
		fmt.Fprintf(stderr, "weir serve: %v\n", serveErr)
		return 1
	case closeErr != nil:
		fmt.Fprintf(stderr, "weir serve: shutdown: %v\n", closeErr)
		return 1
	}
	logger.Info("weir broker stopped cleanly")
	return 0
}
