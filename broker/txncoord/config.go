package txncoord

// Config holds the broker settings the coordinator obeys, in Kafka's units
// and with Kafka's names.
type Config struct {
	// MaxTimeoutMs (transaction.max.timeout.ms) bounds the
	// transaction.timeout.ms a producer asks for; more is refused with
	// INVALID_TRANSACTION_TIMEOUT.
	MaxTimeoutMs int32
	// IDExpirationMs (transactional.id.expiration.ms): a transactional id
	// with no transaction and no request for this long is forgotten
	// (Dead, then a tombstone).
	IDExpirationMs int64
	// TV2 is the finalized transaction.version >= 2 (KIP-890 part 2):
	// transactions whose client speaks it (EndTxn v5+, produce v12+,
	// TxnOffsetCommit v5+) get a new producer epoch at every end, and the
	// coordinator's own aborts (timeouts, fencing) use it.
	TV2 bool

	// Defects plants known bugs, for tests and the simulator to show that
	// their checks catch them. Never set otherwise.
	Defects Defects
}

// Defects are deliberate bugs of the coordinator.
type Defects struct {
	// NoEpochBump turns KIP-890 part 2 off: every transaction ends at the
	// epoch it ran in, as before Kafka 4.0, so a delayed EndTxn of one
	// transaction applies to the next transaction of the same producer.
	NoEpochBump bool
}

// DefaultConfig is Kafka 4.0's defaults.
func DefaultConfig() Config {
	return Config{
		MaxTimeoutMs:   900000,
		IDExpirationMs: 7 * 24 * 60 * 60 * 1000,
		TV2:            true,
	}
}
