package registry

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"

	"github.com/weir-dev/weir/workloads/stream"
)

// A pipeline workload's processing group (stream.GroupMode, embedded in
// its Config) runs the classic protocol or KIP-848's consumer protocol,
// with dynamic or static members. A run draws the mode per workload
// (DrawGroupMode) after every workload's parameters were drawn, and
// writes it into them (SetGroupMode): the header records it where the
// workload reads it (workload_params.<name>.group_protocol and
// group_static), so `weir check` and a replay build the same processor.

// seedStreamGroupMode separates the draw of a processing group's mode
// from every other stream of the seed; each workload's is further
// separated by its name, so that naming one more workload in a run
// changes the mode of none of the others, and the draws of the workloads'
// other parameters stay what they were before the modes existed.
const seedStreamGroupMode = 0x7765_6972_7370_676d // "weirspgm"

// The shares of the seeds that draw the consumer protocol and static
// members, independently (the queue's group draws the same).
const (
	ConsumerProtocolShare = 0.5
	StaticShare           = 0.5
)

// DrawGroupMode draws the processing group's mode of workload name for
// seed. protocol (stream.ProtocolClassic or stream.ProtocolConsumer) and
// membership ("static" or "dynamic") force their part when not empty;
// the draws are made whatever they say, in a fixed order.
func DrawGroupMode(seed uint64, name, protocol, membership string) stream.GroupMode {
	h := fnv.New64a()
	h.Write([]byte(name))
	rng := rand.New(rand.NewPCG(seed, seedStreamGroupMode^h.Sum64()))
	consumer := rng.Float64() < ConsumerProtocolShare
	static := rng.Float64() < StaticShare
	if protocol != "" {
		consumer = protocol == stream.ProtocolConsumer
	}
	if membership != "" {
		static = membership == "static"
	}
	m := stream.GroupMode{Protocol: stream.ProtocolClassic, Static: static}
	if consumer {
		m.Protocol = stream.ProtocolConsumer
	}
	return m
}

// SetGroupMode returns the workload's parameters (as Draw made them) with
// its processing group's mode set to m.
func SetGroupMode(params json.RawMessage, m stream.GroupMode) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(params, &fields); err != nil {
		return nil, fmt.Errorf("group mode: parameters: %w", err)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var mode map[string]json.RawMessage
	if err := json.Unmarshal(raw, &mode); err != nil {
		return nil, err
	}
	delete(fields, "group_protocol")
	delete(fields, "group_static")
	for k, v := range mode {
		fields[k] = v
	}
	return json.Marshal(fields)
}

// GroupModeOf reads the processing group's mode from a workload's
// parameters (the zero mode, classic and dynamic, when they name none).
func GroupModeOf(params json.RawMessage) (stream.GroupMode, error) {
	var m stream.GroupMode
	if len(params) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(params, &m); err != nil {
		return m, fmt.Errorf("group mode: parameters: %w", err)
	}
	return m, nil
}
