package rejudge

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/weir-dev/weir/runfolder"
)

const usage = `usage: weir check DIR

Judges the run folder DIR again, with the checkers a run judges itself
with: its history.jsonl, the workloads and parameters its header.json
recorded, and what the run knew beyond its history (the metadata
checker's and the brokers' invariant findings, a failed liveness phase)
from its verdict.json. DIR may come from weir sim or from weir workload
run against a real cluster. Nothing in DIR is changed.

Prints the verdict's summary. Exit code: 0 valid, 1 invalid, 2 liveness
(the final read was incomplete, the cluster did not heal), 3 the folder
cannot be judged (no header or history, a corrupt history, an unknown
workload) or a checker ran out of its budget; 2 also for a wrong command
line.
`

// Command is `weir check`.
func Command(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		if len(args) == 0 {
			fmt.Fprint(stderr, "weir check: no run folder given\n\n")
		} else {
			fmt.Fprintf(stderr, "weir check: want one run folder, got %q\n\n", args)
		}
		fmt.Fprint(stderr, usage)
		return 2
	}
	dir := args[0]
	res, err := Folder(dir)
	if err != nil {
		fmt.Fprintf(stderr, "weir check: %v\n", err)
		fmt.Fprintf(stdout, "weir check: %s: %s (exit %d): cannot be judged\n", dir, runfolder.VerdictName(runfolder.ExitHarness), runfolder.ExitHarness)
		return runfolder.ExitHarness
	}
	fmt.Fprint(stdout, res.Summary)
	if len(res.CarriedOver) > 0 {
		fmt.Fprintf(stdout, "  from the run's verdict.json: %s\n", strings.Join(res.CarriedOver, ", "))
	}
	recorded := ""
	if res.Recorded.Code != res.Code {
		recorded = fmt.Sprintf("; the run recorded %s (exit %d): %s", runfolder.VerdictName(res.Recorded.Code), res.Recorded.Code, firstLine(res.Recorded.Summary))
	}
	fmt.Fprintf(stdout, "weir check: %s: %s (exit %d), workload %s%s\n", dir, runfolder.VerdictName(res.Code), res.Code, strings.Join(res.Workloads, ","), recorded)
	return res.Code
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
