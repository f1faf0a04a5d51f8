package broker

import (
	"fmt"
	"math"
	"strconv"

	"github.com/weir-dev/weir/broker/txncoord"
)

// TxnConfig is the transaction coordinator's part of the broker config,
// with Kafka's server.properties names and defaults.
type TxnConfig struct {
	// StateLogPartitions (transaction.state.log.num.partitions) is how many
	// partitions __transaction_state gets when the broker creates it; once
	// it exists its partition count decides where every transactional id
	// lives.
	StateLogPartitions int32
	// StateLogReplicationFactor (transaction.state.log.replication.factor)
	// is the topic's replication factor when it is created, or the number
	// of active brokers if fewer; StateLogMinISR
	// (transaction.state.log.min.isr) its min.insync.replicas, at most the
	// replication factor.
	StateLogReplicationFactor int16
	StateLogMinISR            int16
	// StateLogSegmentBytes (transaction.state.log.segment.bytes).
	StateLogSegmentBytes int32
	// VerificationEnable (transaction.partition.verification.enable): a
	// partition leader checks with the coordinator that a transactional
	// produce belongs to an ongoing transaction it was added to (KIP-890
	// part 1) before it appends the batch that opens the transaction.
	VerificationEnable bool
	// Version is the finalized transaction.version feature (0 to 2): 2
	// turns KIP-890 part 2 on for clients that speak it.
	Version int16
	// Coordinator holds transaction.max.timeout.ms and
	// transactional.id.expiration.ms.
	Coordinator txncoord.Config
}

// DefaultTxnConfig is Kafka 4.0's defaults.
func DefaultTxnConfig() TxnConfig {
	return TxnConfig{
		StateLogPartitions:        50,
		StateLogReplicationFactor: 3,
		StateLogMinISR:            2,
		StateLogSegmentBytes:      100 << 20,
		VerificationEnable:        true,
		Version:                   2,
		Coordinator:               txncoord.DefaultConfig(),
	}
}

// txnDefences reports whether the KIP-890 defences are on: the planted
// defect turns both parts off.
func (b *Broker) txnDefences() bool { return !b.cfg.Defects.NoKIP890 }

// txnVersion is the transaction.version the broker finalizes and
// advertises: 0 with the KIP-890 defences off (clients then use version
// 1 requests, as with Kafka before 4.0).
func (b *Broker) txnVersion() int16 {
	if !b.txnDefences() {
		return 0
	}
	return b.cfg.Txn.Version
}

// txnVerification reports whether partitions verify transactional
// produces (KIP-890 part 1).
func (b *Broker) txnVerification() bool {
	return b.cfg.Txn.VerificationEnable && b.txnDefences()
}

// coordinatorConfig is the state machine's config as this broker runs it.
func (b *Broker) coordinatorConfig() txncoord.Config {
	c := b.cfg.Txn.Coordinator
	c.TV2 = b.txnVersion() >= 2
	c.Defects.NoEpochBump = c.Defects.NoEpochBump || b.cfg.Defects.TxnCoordinator.NoEpochBump || !b.txnDefences()
	return c
}

// applyTxnProperty sets a transaction key of server.properties; ok is
// false for keys that are not its own.
func applyTxnProperty(cfg *Config, key, val string) (ok bool, err error) {
	t := &cfg.Txn
	intIn := func(min, max int64) (int64, error) {
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < min || n > max {
			return 0, fmt.Errorf("%q is not an integer in %d..%d", val, min, max)
		}
		return n, nil
	}
	var n int64
	switch key {
	case "transaction.state.log.num.partitions":
		n, err = intIn(1, maxTopicPartitions)
		t.StateLogPartitions = int32(n)
	case "transaction.state.log.replication.factor":
		n, err = intIn(1, math.MaxInt16)
		t.StateLogReplicationFactor = int16(n)
	case "transaction.state.log.min.isr":
		n, err = intIn(1, math.MaxInt16)
		t.StateLogMinISR = int16(n)
	case "transaction.state.log.segment.bytes":
		n, err = intIn(1, math.MaxInt32)
		t.StateLogSegmentBytes = int32(n)
	case "transaction.max.timeout.ms":
		n, err = intIn(1, math.MaxInt32)
		t.Coordinator.MaxTimeoutMs = int32(n)
	case "transactional.id.expiration.ms":
		n, err = intIn(1, math.MaxInt32)
		t.Coordinator.IDExpirationMs = n
	case "transaction.partition.verification.enable":
		var b bool
		b, err = strconv.ParseBool(val)
		if err != nil {
			err = fmt.Errorf("%q is not true or false", val)
		}
		t.VerificationEnable = b
	case "weir.transaction.version":
		n, err = intIn(0, 2)
		t.Version = int16(n)
	default:
		return false, nil
	}
	return true, err
}

// txnBrokerConfigs adds the transaction coordinator's settings to what
// DescribeConfigs shows for the broker.
func (b *Broker) txnBrokerConfigs(m map[string]string) {
	t := b.cfg.Txn
	m["transaction.state.log.num.partitions"] = strconv.Itoa(int(t.StateLogPartitions))
	m["transaction.state.log.replication.factor"] = strconv.Itoa(int(t.StateLogReplicationFactor))
	m["transaction.state.log.min.isr"] = strconv.Itoa(int(t.StateLogMinISR))
	m["transaction.state.log.segment.bytes"] = strconv.Itoa(int(t.StateLogSegmentBytes))
	m["transaction.max.timeout.ms"] = strconv.Itoa(int(t.Coordinator.MaxTimeoutMs))
	m["transactional.id.expiration.ms"] = strconv.FormatInt(t.Coordinator.IDExpirationMs, 10)
	m["transaction.partition.verification.enable"] = strconv.FormatBool(t.VerificationEnable)
	m["weir.transaction.version"] = strconv.Itoa(int(t.Version))
}
