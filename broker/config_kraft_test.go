package broker

import (
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/weir-dev/weir/broker/quorum"
)

// kraftProperties is the KRaft part of a combined-mode server.properties as
// Kafka's config/kraft/server.properties writes it.
const kraftProperties = `
process.roles=broker,controller
node.id=2
controller.quorum.voters=1@ctl1.example:9093,2@ctl2.example:9093,3@ctl3.example:19093
listeners=PLAINTEXT://:9092,CONTROLLER://ctl2.example:9093
controller.listener.names=CONTROLLER
log.dirs=/var/lib/weir
`

// TestKRaftPropertiesParse pins that a Kafka user's KRaft server.properties
// sets up the same node in Weir: node.id, process.roles, the voters of
// controller.quorum.voters (id@host:port, as the quorum reads them at
// Open), the CONTROLLER listener as the quorum's address and the other
// listener as the Kafka one, whichever order listeners and
// controller.listener.names come in; and that a malformed voters entry is
// refused with an error that names the key and the entry.
func TestKRaftPropertiesParse(t *testing.T) {
	cfg := DefaultConfig()
	warnings, err := ParseProperties(strings.NewReader(kraftProperties), &cfg)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("parse: %v, warnings %q", err, warnings)
	}
	if cfg.NodeID != 2 {
		t.Errorf("node id %d, want 2", cfg.NodeID)
	}
	if !slices.Equal(cfg.ProcessRoles, []string{RoleBroker, RoleController}) || !cfg.HasRole(RoleController) {
		t.Errorf("process roles %q, want broker and controller", cfg.ProcessRoles)
	}
	if cfg.ListenAddr != ":9092" {
		t.Errorf("broker listener %q, want :9092", cfg.ListenAddr)
	}
	if cfg.ControllerListenAddr != "ctl2.example:9093" {
		t.Errorf("controller listener %q, want ctl2.example:9093", cfg.ControllerListenAddr)
	}
	if cfg.DataDir != "/var/lib/weir" {
		t.Errorf("data dir %q", cfg.DataDir)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	qc, err := quorumConfig(cfg, Deps{})
	if err != nil {
		t.Fatalf("quorum config: %v", err)
	}
	want := []quorum.Voter{{ID: 1, Addr: "ctl1.example:9093"}, {ID: 2, Addr: "ctl2.example:9093"}, {ID: 3, Addr: "ctl3.example:19093"}}
	if !slices.Equal(qc.Voters, want) || qc.NodeID != 2 || qc.Standalone || qc.ListenAddr != "ctl2.example:9093" {
		t.Errorf("quorum: node %d voters %v listen %q standalone %v; want node 2, voters %v, listen ctl2.example:9093", qc.NodeID, qc.Voters, qc.ListenAddr, qc.Standalone, want)
	}

	// The listener names may come after the listeners, and be any name.
	cfg = DefaultConfig()
	if _, err := ParseProperties(strings.NewReader("listeners=CTRL://h:7000,CLIENTS://h:7001\ncontroller.listener.names=ctrl\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.ControllerListenAddr != "h:7000" || cfg.ListenAddr != "h:7001" {
		t.Errorf("custom names: controller %q, broker %q; want h:7000, h:7001", cfg.ControllerListenAddr, cfg.ListenAddr)
	}

	// A broker-only node with voters is a learner of the quorum.
	cfg = DefaultConfig()
	if _, err := ParseProperties(strings.NewReader("process.roles=broker\nnode.id=4\ncontroller.quorum.voters=1@c1:9093\nlisteners=PLAINTEXT://b4:9092,CONTROLLER://b4:9093\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if qc, err := quorumConfig(cfg, Deps{}); err != nil || cfg.HasRole(RoleController) || len(qc.Voters) != 1 || qc.ListenAddr != "b4:9093" {
		t.Errorf("broker-only node: %v, roles %q, voters %v, listen %q", err, cfg.ProcessRoles, qc.Voters, qc.ListenAddr)
	}

	for _, bad := range []struct{ voters, mention string }{
		{"1@host", "1@host"},             // no port
		{"x@h:1", "x@h:1"},               // not a node id
		{"-1@h:1", "-1@h:1"},             // a negative node id
		{"1-h:1", "1-h:1"},               // no @
		{"1@h:1,1@g:2", "appears twice"}, // one id, two voters
	} {
		cfg := DefaultConfig()
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		// server.properties keeps the value; the quorum parses it when
		// Open starts it, before the broker serves anything.
		if _, err := ParseProperties(strings.NewReader("node.id=1\ncontroller.quorum.voters="+bad.voters+"\n"), &cfg); err != nil {
			t.Errorf("%q: %v at parse time", bad.voters, err)
			continue
		}
		_, err := quorumConfig(cfg, Deps{})
		if err == nil || !strings.Contains(err.Error(), "controller.quorum.voters") || !strings.Contains(err.Error(), bad.mention) {
			t.Errorf("voters %q: error %v, want one naming controller.quorum.voters and %q", bad.voters, err, bad.mention)
		}
	}
}
