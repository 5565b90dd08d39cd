package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"scanstation/config"
	"scanstation/users"
)

// defaultConfigFile is where the Debian package puts the configuration; `scanstation user` is
// run by hand on the station, where typing --config each time would be a chore.
const defaultConfigFile = "/etc/scanstation/scanstation.yaml"

const userUsage = `Usage:
  scanstation user add NAME --role operator|clerk|admin [--config FILE] [--password-stdin]
  scanstation user passwd NAME [--config FILE] [--password-stdin]
  scanstation user role NAME --role operator|clerk|admin [--config FILE]
  scanstation user remove NAME [--config FILE]
  scanstation user list [--config FILE]

The users of the console (console.users_file; default users.json in the state folder).
The password is asked on the terminal, twice, without echo; with --password-stdin (or when
standard input is not a terminal) it is the first line of standard input. Never on the
command line, where other users and the shell history would see it.
Roles: operator reviews and corrects; clerk (văn thư) also approves, signs and rejects;
admin manages users and sees the configuration.
--config defaults to ` + defaultConfigFile + `.
`

// cmdUser manages the console's users.
func cmdUser(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return exitError(2)
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("user " + sub)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, userUsage) }
	path := fs.String("config", defaultConfigFile, "configuration file")
	roleName := fs.String("role", "", "operator, clerk or admin")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := fs.Parse(reorderUserArgs(args)); err != nil {
		return exitError(2)
	}

	wantName := sub != "list"
	switch {
	case sub != "add" && sub != "passwd" && sub != "role" && sub != "remove" && sub != "list":
		fmt.Fprintf(stderr, "unknown user command %q\n\n%s", sub, userUsage)
		return exitError(2)
	case wantName && fs.NArg() != 1, !wantName && fs.NArg() != 0:
		fmt.Fprint(stderr, userUsage)
		return exitError(2)
	case (sub == "add" || sub == "role") && *roleName == "":
		return fmt.Errorf("user %s: --role operator, clerk or admin is required", sub)
	}
	name := fs.Arg(0)

	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	file := cfg.UsersFile()
	if sub == "add" {
		// A station set up by `init` makes its state folder on its first run.
		if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
			return fmt.Errorf("user add: %w", err)
		}
	}
	store, err := users.Load(file)
	if err != nil {
		return err
	}

	switch sub {
	case "list":
		list, err := store.List()
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintf(stdout, "No users in %s yet; add one with: scanstation user add NAME --role clerk --config %s\n", file, *path)
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tCHANGED")
		for _, u := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, u.Created.Local().Format("2006-01-02 15:04"), u.Changed.Local().Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	case "remove":
		if err := store.Remove(name); err != nil {
			return fmt.Errorf("user remove: %w", err)
		}
		fmt.Fprintf(stdout, "%s removed; their console sessions end at their next click\n", name)
		return nil
	case "role":
		role, err := users.ParseRole(*roleName)
		if err != nil {
			return err
		}
		if err := store.SetRole(name, role); err != nil {
			return fmt.Errorf("user role: %w", err)
		}
		fmt.Fprintf(stdout, "%s is now %s\n", name, role)
		return nil
	}

	// add and passwd: check what can be checked before asking for a password.
	var role users.Role
	if sub == "add" {
		if role, err = users.ParseRole(*roleName); err != nil {
			return err
		}
		if err := users.CheckName(name); err != nil {
			return err
		}
		if _, exists := store.Role(name); exists {
			return fmt.Errorf("user add: %s exists already; change the password with: scanstation user passwd %s", name, name)
		}
	} else if _, exists := store.Role(name); !exists {
		return fmt.Errorf("user passwd: %s: %w", name, users.ErrNotFound)
	}
	password, err := readPassword(stdin, stderr, name, *fromStdin)
	if err != nil {
		return fmt.Errorf("user %s: %w", sub, err)
	}
	if sub == "add" {
		if err := store.Add(name, role, password); err != nil {
			return fmt.Errorf("user add: %w", err)
		}
		fmt.Fprintf(stdout, "%s added as %s in %s\n", name, role, file)
		return nil
	}
	if err := store.SetPassword(name, password); err != nil {
		return fmt.Errorf("user passwd: %w", err)
	}
	fmt.Fprintf(stdout, "%s has a new password\n", name)
	return nil
}

// readPassword asks twice on a terminal, without echo; otherwise it reads one line.
func readPassword(stdin io.Reader, prompt io.Writer, name string, fromStdin bool) (string, error) {
	if f, ok := stdin.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		ask := func(label string) (string, error) {
			fmt.Fprint(prompt, label)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(prompt)
			return string(b), err
		}
		first, err := ask(fmt.Sprintf("Password for %s (at least %d characters): ", name, users.MinPassword))
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		if err := users.CheckPassword(first); err != nil {
			return "", err
		}
		again, err := ask("The same password again: ")
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		if again != first {
			return "", errors.New("the two passwords differ; nothing was changed")
		}
		return first, nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("no password on standard input (give it as the first line)")
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

// reorderUserArgs puts flags before the user's name, so `user add lan --role clerk` parses;
// --password-stdin takes no value.
func reorderUserArgs(args []string) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest = append(rest, args[i+1:]...)
			i = len(args)
		case !strings.HasPrefix(a, "-") || a == "-":
			rest = append(rest, a)
		default:
			flags = append(flags, a)
			bare := strings.TrimLeft(a, "-")
			if !strings.Contains(a, "=") && bare != "password-stdin" && bare != "h" && bare != "help" && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return append(append(flags, "--"), rest...)
}
