// Command reviewedit turns a page of a document waiting for approval through the station's
// desk, as the console does, and exits: the review path of the crash-point harness
// (cmd/scanstation/reviewcrash_test.go) kills it at each durable step of the edit.
//
//	reviewedit CONFIG JOB PAGE QUARTER-TURNS NAME
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"scanstation/config"
	"scanstation/console"
	"scanstation/station"
	"scanstation/users"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "reviewedit:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 5 {
		return fmt.Errorf("usage: reviewedit CONFIG JOB PAGE QUARTER-TURNS NAME")
	}
	var n [3]int64
	for i := range n {
		v, err := strconv.ParseInt(args[1+i], 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number: %w", args[1+i], err)
		}
		n[i] = v
	}
	cfg, err := config.Load(args[0])
	if err != nil {
		return err
	}
	st, err := station.New(cfg, station.Options{Log: slog.New(slog.NewTextHandler(os.Stderr, nil)), Command: "reviewedit"})
	if err != nil {
		return err
	}
	defer st.Close()
	desk := station.NewDesk(st, nil)
	return desk.Rotate(context.Background(), n[0], int(n[1]), int(n[2]), console.User{Name: args[4], Role: users.Clerk})
}
