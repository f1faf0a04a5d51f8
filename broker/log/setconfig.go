package log

// SetConfig changes the roll and index settings of a live log (a topic's
// configs were altered). It applies from the next append on; existing
// segments are not rewritten, as in Kafka.
func (l *Log) SetConfig(cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg = cfg
	return nil
}
