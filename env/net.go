package env

import (
	"context"
	"net"
)

// Net opens connections. The simulator's implementation connects named
// simulated hosts; OSNet uses the operating system's TCP stack.
//
// Dial has the signature of kgo.Dialer so clients can be pointed at any Net.
type Net interface {
	// Listen listens for stream connections on addr ("host:port").
	Listen(ctx context.Context, addr string) (net.Listener, error)
	// Dial connects to addr over network ("tcp").
	Dial(ctx context.Context, network, addr string) (net.Conn, error)
}

// OSNet is the network of the operating system.
type OSNet struct{}

var _ Net = OSNet{}

func (OSNet) Listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", addr)
}

func (OSNet) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
