package broker

import (
	"context"
	"fmt"
	"reflect"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handler serves one Kafka API key over a range of versions.
type handler struct {
	min, max int16 // versions decoded and answered
	// advertisedMin is the lowest version ApiVersions lists; versions below
	// it are answered only to refuse them clearly (Produce v0-2).
	advertisedMin int16
	fn            func(ctx context.Context, b *Broker, req *request) (reply, error)
}

// handlers is the supported-API table, filled by each API file's init and
// never changed afterwards: the files named NN_api.go are the list of what
// Weir speaks, and ApiVersions is built from it.
var handlers = map[int16]handler{}

func register(key, min, max int16, fn func(ctx context.Context, b *Broker, req *request) (reply, error)) {
	if _, dup := handlers[key]; dup {
		panic("broker: API key registered twice: " + kmsg.NameForKey(key))
	}
	handlers[key] = handler{min: min, max: max, advertisedMin: min, fn: fn}
}

// registerRefusing is register for an API whose versions below advertisedMin
// are decoded only so that the handler can refuse them with an error code.
func registerRefusing(key, min, advertisedMin, max int16, fn func(ctx context.Context, b *Broker, req *request) (reply, error)) {
	register(key, min, max, fn)
	h := handlers[key]
	h.advertisedMin = advertisedMin
	handlers[key] = h
}

const apiVersionsKey = 18

// supportedAPIKeys lists every registered key and version range, sorted.
func supportedAPIKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(handlers))
	for k, h := range handlers {
		keys = append(keys, kmsg.ApiVersionsResponseApiKey{ApiKey: k, MinVersion: h.advertisedMin, MaxVersion: h.max})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ApiKey < keys[j].ApiKey })
	return keys
}

// unsupportedAPIVersions is the v0 ApiVersions answer to a version the
// broker does not speak.
func unsupportedAPIVersions() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = supportedAPIKeys()
	return resp
}

// unsupportedReply answers a request for an API or version the broker does
// not serve. Where the response has a top-level error code, it carries
// UNSUPPORTED_VERSION; otherwise there is no well-formed answer and the
// connection is closed, as Kafka does.
func unsupportedReply(req *request) (reply, error) {
	resp := req.kreq.ResponseKind()
	resp.SetVersion(req.version)
	v := reflect.ValueOf(resp).Elem()
	f := v.FieldByName("ErrorCode")
	if !f.IsValid() || f.Kind() != reflect.Int16 {
		return reply{}, errUnsupported(req)
	}
	f.SetInt(int64(kerr.UnsupportedVersion.Code))
	if m := v.FieldByName("ErrorMessage"); m.IsValid() && m.Type() == reflect.TypeOf((*string)(nil)) {
		msg := "Weir does not support " + kmsg.NameForKey(req.key) + " at this version"
		m.Set(reflect.ValueOf(&msg))
	}
	return reply{resp: resp}, nil
}

func errUnsupported(req *request) error {
	return fmt.Errorf("unsupported request %s v%d has no error code to answer with", kmsg.NameForKey(req.key), req.version)
}
