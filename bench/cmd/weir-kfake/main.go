package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9095", "HOST:PORT of the first broker; the others take the next ports")
	brokers := flag.Int("brokers", 1, "brokers in the fake cluster")
	logLevel := flag.String("log-level", "none", "kfake's log to stderr: none, error, warn, info, debug")
	flag.Parse()
	if err := run(*listen, *brokers, *logLevel); err != nil {
		fmt.Fprintf(os.Stderr, "weir-kfake: %v\n", err)
		os.Exit(1)
	}
}

func run(listen string, brokers int, logLevel string) error {
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flag.Arg(0))
	}
	if brokers < 1 {
		return fmt.Errorf("--brokers %d: want at least 1", brokers)
	}
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %v", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port+brokers-1 > 65535 {
		return fmt.Errorf("--listen %q: bad port", listen)
	}
	level, ok := map[string]kfake.LogLevel{
		"none":  kfake.LogLevelNone,
		"error": kfake.LogLevelError,
		"warn":  kfake.LogLevelWarn,
		"info":  kfake.LogLevelInfo,
		"debug": kfake.LogLevelDebug,
	}[strings.ToLower(logLevel)]
	if !ok {
		return fmt.Errorf("--log-level %q: want none, error, warn, info or debug", logLevel)
	}

	ports := make([]int, brokers)
	for i := range ports {
		if port != 0 {
			ports[i] = port + i
		}
	}
	c, err := kfake.NewCluster(
		kfake.Ports(ports...),
		// kfake always asks for 127.0.0.1; listen on the host given instead.
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			_, p, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
		kfake.WithLogger(kfake.BasicLogger(os.Stderr, level)),
	)
	if err != nil {
		return err
	}
	defer c.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "weir-kfake: %d broker(s) listening on %s\n", brokers, strings.Join(c.ListenAddrs(), ", "))
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "weir-kfake: stopping")
	return nil
}
