// Command weir-nullsink runs a null Kafka broker (package bench/nullsink):
// it answers producers and stores nothing. Use it as the ceiling against
// which Weir's produce numbers are read.
//
//	weir-nullsink --listen 127.0.0.1:9095 --partitions 1
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/weir-dev/weir/bench/nullsink"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9095", "address to listen on")
	partitions := flag.Int("partitions", 1, "partitions of every topic")
	advertise := flag.String("advertise", "", "host:port returned in Metadata (default: the listen address)")
	verbose := flag.Bool("v", false, "log connections closed by an error")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	opts := nullsink.Options{
		Partitions:     int32(*partitions),
		AdvertisedAddr: *advertise,
	}
	if *verbose {
		opts.Logf = log.Printf
	}
	fmt.Fprintf(os.Stderr, "weir-nullsink: listening on %s, %d partitions per topic\n", ln.Addr(), *partitions)
	if err := nullsink.Serve(ctx, ln, opts); err != nil {
		log.Fatal(err)
	}
}
