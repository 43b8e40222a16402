package config

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Resources describe the machine, for the profile recommendation.
type Resources struct {
	TotalMemoryMB int
	CPUCores      int
}

// DetectResources reads total memory from /proc/meminfo (0 when unknown) and the core count.
func DetectResources() Resources {
	res := Resources{CPUCores: runtime.NumCPU()}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return res
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kb, err := strconv.Atoi(fields[1]); err == nil {
				res.TotalMemoryMB = kb / 1024
			}
			break
		}
	}
	return res
}

// Recommend returns the profile that suits the machine's resources, and why.
func Recommend(r Resources) (profile, reason string) {
	switch {
	case r.TotalMemoryMB > 0 && r.TotalMemoryMB < 1024:
		return "minimal", "low memory: SQLite + local storage + in-memory cache"
	case r.TotalMemoryMB > 0 && r.TotalMemoryMB < 4096, r.CPUCores < 2:
		return "standard", "PostgreSQL + local storage + Redis"
	default:
		return "enterprise", "PostgreSQL + S3 + Redis with clustering"
	}
}
