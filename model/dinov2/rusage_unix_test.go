//go:build unix

package dinov2

import "syscall"

// processCPUSeconds is the user+system CPU time of this process so far: on a shared
// machine it measures the work of a benchmark better than the wall clock does.
func processCPUSeconds() (float64, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return sec(ru.Utime) + sec(ru.Stime), true
}
