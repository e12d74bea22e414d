package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the unit of the CPU times in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const clockTicks = 100

// procTimes reads a process's parent pid and CPU times from
// /proc/<pid>/stat: its own user+system time and that of its children it
// has waited for.
func procTimes(pid int) (ppid int, self, children time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("read CPU time: %w", err)
	}
	return parseStat(string(b))
}

// parseStat reads the parent pid and CPU times of a /proc/<pid>/stat line.
func parseStat(s string) (ppid int, self, children time.Duration, err error) {
	// The command name (field 2) is in parentheses and may hold spaces and
	// parentheses: the fields go on after the last ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, 0, errors.New("read CPU time: no command name in /proc stat")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return 0, 0, 0, errors.New("read CPU time: short /proc stat")
	}
	var v [5]int64
	for j, k := range []int{1, 11, 12, 13, 14} { // ppid, utime, stime, cutime, cstime
		if v[j], err = strconv.ParseInt(f[k], 10, 64); err != nil {
			return 0, 0, 0, fmt.Errorf("read CPU time: %w", err)
		}
	}
	tick := time.Second / clockTicks
	return int(v[0]), time.Duration(v[1]+v[2]) * tick, time.Duration(v[3]+v[4]) * tick, nil
}

// processCPU is the CPU time pid has used.
func processCPU(pid int) (time.Duration, error) {
	_, self, _, err := procTimes(pid)
	return self, err
}

// clusterCPU is the CPU time a PostgreSQL server has used: the postmaster
// and its running processes (backends, checkpointer, ...), plus those that
// have exited (counted in the postmaster's children time). Processes that
// exit between two readings move from one part to the other, so the
// difference of two readings holds them.
func clusterCPU(postmaster int) (time.Duration, error) {
	_, self, children, err := procTimes(postmaster)
	if err != nil {
		return 0, err
	}
	total := self + children
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("read CPU time: %w", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == postmaster {
			continue
		}
		ppid, self, _, err := procTimes(pid)
		if err != nil {
			continue // gone meanwhile
		}
		if ppid == postmaster {
			total += self
		}
	}
	return total, nil
}

// postmasterPID is the pid of the private cluster's postmaster (the first
// line of postmaster.pid), or an error when the run uses
// BENCH_DATABASE_URL, whose processes may not be on this machine.
func (d *databases) postmasterPID() (int, error) {
	if d.cluster == nil {
		return 0, errors.New("PostgreSQL is BENCH_DATABASE_URL, not a private cluster: its CPU time is not measured")
	}
	b, err := os.ReadFile(filepath.Join(d.cluster.DataDir, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("read postmaster.pid: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0, fmt.Errorf("read postmaster.pid: %w", err)
	}
	return pid, nil
}

// cpuMeter measures the CPU time PostgreSQL (a private cluster) and a
// server process started after it use.
type cpuMeter struct {
	postmaster int
	cluster0   time.Duration
	clusterErr error
}

// startCPU starts measuring; the server process to measure must start
// after it.
func (b *bench) startCPU() *cpuMeter {
	m := &cpuMeter{}
	if m.postmaster, m.clusterErr = b.dbs.postmasterPID(); m.clusterErr == nil {
		m.cluster0, m.clusterErr = clusterCPU(m.postmaster)
	}
	return m
}

// cpuUse is the CPU time used during a measurement.
type cpuUse struct {
	server  time.Duration
	cluster time.Duration
	// clusterErr says why PostgreSQL's time was not measured.
	clusterErr error
}

// stop returns the CPU time that server process pid (all of it: it
// started after startCPU) and PostgreSQL used since startCPU.
func (m *cpuMeter) stop(pid int) (cpuUse, error) {
	s, err := processCPU(pid)
	if err != nil {
		return cpuUse{}, err
	}
	use := cpuUse{server: s, clusterErr: m.clusterErr}
	if use.clusterErr == nil {
		c, err := clusterCPU(m.postmaster)
		if err != nil {
			use.clusterErr = err
		}
		use.cluster = c - m.cluster0
	}
	return use, nil
}
