// Temporary: profiles rejudge.Folder (weir check) on a run folder. Not committed.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/runfolder/rejudge"
)

func main() {
	f, _ := os.Create(os.Args[2])
	pprof.StartCPUProfile(f)
	start := time.Now()
	res, err := rejudge.Folder(os.Args[1])
	el := time.Since(start)
	pprof.StopCPUProfile()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	_ = history.Unknown
	fmt.Printf("check %v code %d err %v heap-total-alloc %d MB sys %d MB\n%s", el, res.Code, err, ms.TotalAlloc>>20, ms.Sys>>20, res.Summary[:200])
}
