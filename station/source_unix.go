//go:build unix

package station

import "syscall"

type sysStat = syscall.Stat_t
