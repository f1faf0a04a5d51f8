package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/env"
)

const serveUsage = `usage: weir serve [flags]

Runs a Weir node: a broker (the Kafka protocol on --listen, data in
--data-dir) and, in combined mode, a voter of the metadata quorum. With no
quorum flags it is a cluster of one. Stops cleanly (leadership moved away,
every partition fsynced) on SIGINT or SIGTERM.

  weir serve                                     one broker on 127.0.0.1:9092
  weir serve --cluster 3                         three brokers and a 3-voter quorum in this process:
                                                 9092-9094, controllers on 9192-9194, data in weir-data/node-N
  weir serve --node-id 1 --listen 127.0.0.1:9092 --controller-listen 127.0.0.1:9192 \
             --controller-quorum 1@127.0.0.1:9192,2@127.0.0.1:9193,3@127.0.0.1:9194 --data-dir d1

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
		nodeID     = fs.Int("node-id", int(def.NodeID), "this node's id (node.id)")
		ctlListen  = fs.String("controller-listen", "", "host:port of this node's controller listener (the metadata quorum)")
		voters     = fs.String("controller-quorum", "", "controller.quorum.voters: id@host:port,... (default: this node alone)")
		roles      = fs.String("process-roles", "broker,controller", "process.roles: broker, controller, or both")
		rack       = fs.String("rack", "", "broker.rack: placement spreads replicas across racks")
		clusterN   = fs.Int("cluster", 0, "run this many brokers and a quorum of as many voters in this process, on consecutive ports")
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
	var flagErr error
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
		case "controller-listen":
			cfg.ControllerListenAddr = *ctlListen
		case "controller-quorum":
			cfg.ControllerQuorumVoters = *voters
		case "process-roles":
			cfg.ProcessRoles = nil
			for _, r := range strings.Split(*roles, ",") {
				r = strings.TrimSpace(r)
				if r != broker.RoleBroker && r != broker.RoleController {
					flagErr = fmt.Errorf("--process-roles: %q is not broker or controller", r)
				}
				cfg.ProcessRoles = append(cfg.ProcessRoles, r)
			}
		case "rack":
			cfg.Rack = *rack
		case "no-fsync":
			cfg.FsyncAcksAll = !*noFsync
		}
	})
	if flagErr != nil {
		fmt.Fprintf(stderr, "weir serve: %v\n", flagErr)
		return 2
	}
	cfg.Logger = logger
	if *clusterN < 0 || *clusterN > 100 {
		fmt.Fprintf(stderr, "weir serve: --cluster %d: want 1 to 100 brokers\n", *clusterN)
		return 2
	}
	if *clusterN > 0 {
		nodes, err := clusterConfigs(cfg, *clusterN)
		if err != nil {
			fmt.Fprintf(stderr, "weir serve: --cluster: %v\n", err)
			return 2
		}
		return serveAll(ctx, nodes, stderr)
	}
	return serveAll(ctx, []broker.Config{cfg}, stderr)
}

// clusterConfigs makes n nodes of one combined-mode cluster from base:
// node i+1 listens on base's port + i, its controller on that port + 100,
// and keeps its data in base's data dir /node-(i+1).
func clusterConfigs(base broker.Config, n int) ([]broker.Config, error) {
	host, portStr, err := net.SplitHostPort(base.ListenAddr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port+n+100 > 65535 {
		return nil, fmt.Errorf("listen port %q: want a fixed port with room for %d brokers and their controllers above it", portStr, n)
	}
	var voters []string
	for i := range n {
		voters = append(voters, fmt.Sprintf("%d@%s", i+1, net.JoinHostPort(host, strconv.Itoa(port+100+i))))
	}
	var out []broker.Config
	for i := range n {
		cfg := base
		cfg.NodeID = int32(i + 1)
		cfg.ListenAddr = net.JoinHostPort(host, strconv.Itoa(port+i))
		cfg.AdvertisedAddr = ""
		cfg.ControllerListenAddr = net.JoinHostPort(host, strconv.Itoa(port+100+i))
		cfg.ControllerQuorumVoters = strings.Join(voters, ",")
		cfg.ProcessRoles = []string{broker.RoleBroker, broker.RoleController}
		cfg.DataDir = filepath.Join(base.DataDir, fmt.Sprintf("node-%d", i+1))
		cfg.Logger = base.Logger.With("node", i+1)
		out = append(out, cfg)
	}
	return out, nil
}

// serveAll runs every node until ctx ends, then stops them all cleanly.
// A node that fails to start stops the others.
func serveAll(ctx context.Context, nodes []broker.Config, stderr io.Writer) int {
	deps := broker.Deps{FS: env.OSFS{}, Net: env.OSNet{}, Clock: env.RealClock{}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	codes := make([]int, len(nodes))
	for i, cfg := range nodes {
		wg.Add(1)
		prefix := ""
		if len(nodes) > 1 {
			prefix = fmt.Sprintf("node %d: ", cfg.NodeID)
		}
		go func() {
			defer wg.Done()
			codes[i] = serveNode(ctx, cfg, deps, prefix, stderr)
			if codes[i] != 0 {
				cancel()
			}
		}()
	}
	wg.Wait()
	worst := 0
	for _, c := range codes {
		worst = max(worst, c)
	}
	return worst
}

// serveNode runs one node until ctx ends.
func serveNode(ctx context.Context, cfg broker.Config, deps broker.Deps, prefix string, stderr io.Writer) int {
	logger := cfg.Logger
	if !cfg.HasRole(broker.RoleBroker) {
		node, err := broker.StartController(ctx, cfg, deps)
		if err != nil {
			fmt.Fprintf(stderr, "weir serve: %s%v\n", prefix, err)
			return 1
		}
		logger.Info("weir controller serving", "node_id", cfg.NodeID, "controller_listen", cfg.ControllerListenAddr, "data_dir", cfg.DataDir)
		<-ctx.Done()
		node.Close()
		logger.Info("weir controller stopped")
		return 0
	}
	b, err := broker.Open(cfg, deps)
	if err != nil {
		fmt.Fprintf(stderr, "weir serve: %s%v\n", prefix, err)
		return 1
	}
	ln, err := b.Listen(ctx)
	if err != nil {
		b.Close()
		fmt.Fprintf(stderr, "weir serve: %s%v\n", prefix, err)
		return 1
	}
	logger.Info("weir broker listening", "listen", ln.Addr().String(), "advertised", b.Addr(), "data_dir", cfg.DataDir, "node_id", cfg.NodeID, "fsync_acks_all", cfg.FsyncAcksAll)
	go func() {
		// Say when the controller has seen this broker: from then on it
		// leads its partitions.
		for ctx.Err() == nil {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := b.WaitActive(wctx)
			cancel()
			if err == nil {
				logger.Info("weir broker serving: registered with the controller and unfenced", "node_id", cfg.NodeID)
				return
			}
			if ctx.Err() == nil {
				logger.Warn("still waiting for the metadata quorum to register this broker", "node_id", cfg.NodeID)
			}
		}
	}()
	serveErr := b.Serve(ctx, ln)
	closeErr := b.Close()
	switch {
	case serveErr != nil:
		fmt.Fprintf(stderr, "weir serve: %s%v\n", prefix, serveErr)
		return 1
	case closeErr != nil:
		fmt.Fprintf(stderr, "weir serve: %sshutdown: %v\n", prefix, closeErr)
		return 1
	}
	logger.Info("weir broker stopped cleanly", "node_id", cfg.NodeID)
	return 0
}
