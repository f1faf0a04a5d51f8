package payments

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// command is a value of the input topic:
// "cmd|<id>|<kind>|<account>|<to>|<amount>|<ms>", keyed by branch.
type command struct {
	ID     string // "p<process>.<n>": unique, names the send
	Kind   string // deposit, withdraw or transfer
	Acct   string
	To     string // transfer only
	Amount int64
	Ms     int64 // event time (business time) in milliseconds
}

func (c command) String() string {
	return fmt.Sprintf("cmd|%s|%s|%s|%s|%d|%d", c.ID, c.Kind, c.Acct, c.To, c.Amount, c.Ms)
}

func parseCommand(v string) (command, bool) {
	f := strings.Split(v, "|")
	if len(f) != 7 || f[0] != "cmd" {
		return command{}, false
	}
	amt, err1 := strconv.ParseInt(f[5], 10, 64)
	ms, err2 := strconv.ParseInt(f[6], 10, 64)
	if err1 != nil || err2 != nil {
		return command{}, false
	}
	return command{ID: f[1], Kind: f[2], Acct: f[3], To: f[4], Amount: amt, Ms: ms}, true
}

func barrierValue(p int32, attempt int) string { return fmt.Sprintf("barrier|%d|%d", p, attempt) }

// topicBarrier names the barriers of the run's input topic: workloads
// that run together on one cluster send barriers of their own, and the
// checkers name a send by its value.
func topicBarrier(topic string) func(p int32, attempt int) string {
	return func(p int32, attempt int) string { return barrierValue(p, attempt) + "|" + topic }
}

func isBarrier(v string) bool { return strings.HasPrefix(v, "barrier|") }

// entry is a ledger record: a command applied or rejected, or the answer
// to a barrier.
type entry struct {
	Cmd     string `json:"cmd,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Applied bool   `json:"applied,omitempty"`
	Legs    []leg  `json:"legs,omitempty"`
	Ms      int64  `json:"ms,omitempty"`
	Barrier string `json:"barrier,omitempty"`
	// Part and Offset are the input record's position.
	Part   int32  `json:"p"`
	Offset int64  `json:"o"`
	W      string `json:"w"`
}

// leg is one account's change: Delta, and its balance after (Bal).
type leg struct {
	Acct  string `json:"a"`
	Delta int64  `json:"d"`
	Bal   int64  `json:"b"`
}

// balance is a record of the balances topic, keyed by account: its
// balance after command Cmd.
type balance struct {
	Acct string `json:"a"`
	Bal  int64  `json:"b"`
	Cmd  string `json:"cmd"`
	W    string `json:"w"`
}

// alert is a fraud alert, keyed by account: Rule "tumbling" for window
// number Window (event time / Config.Window), or "sliding" for the
// withdrawal Cmd that made more than the limit within a window before it.
type alert struct {
	Rule   string `json:"rule"`
	Acct   string `json:"a"`
	Window int64  `json:"win,omitempty"`
	Cmd    string `json:"cmd"`
	W      string `json:"w"`
}

// id names what the alert is about: one per tumbling window, one per
// sliding withdrawal.
func (a alert) id() string {
	if a.Rule == "tumbling" {
		return fmt.Sprintf("tumbling %s window %d", a.Acct, a.Window)
	}
	return fmt.Sprintf("sliding %s at %s", a.Acct, a.Cmd)
}

func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs always encode
	}
	return string(b)
}

func decode[T any](v string) (T, bool) {
	var t T
	err := json.Unmarshal([]byte(v), &t)
	return t, err == nil
}
