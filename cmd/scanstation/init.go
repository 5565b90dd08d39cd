package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"scanstation/certify/token"
	"scanstation/config"
	"scanstation/devpki"
	"scanstation/outbox"
	"scanstation/station"
)

func cmdInit(args []string, stdout io.Writer) error {
	fs := newFlagSet("init")
	dir := fs.String("dir", "", "folder of the new station")
	devToken := fs.Bool("dev-token", false, "also create a SoftHSM2 development token with a test certificate")
	devPKIListen := fs.String("dev-pki-listen", devpki.DefaultListen, "with --dev-token: the loopback host:port the test certificates name for OCSP, CRL and TSA")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if *dir == "" {
		return errors.New("init: --dir DIR is required")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	cfgPath := filepath.Join(abs, "scanstation.yaml")
	if _, err := os.Stat(cfgPath); err == nil {
		return fmt.Errorf("init: %s already exists; edit it, or choose another --dir", cfgPath)
	}

	cfg := config.Default(abs)
	for _, d := range []string{abs, cfg.HotFolders[0].Path, cfg.Folders.Outbox, cfg.Folders.Failed, cfg.Folders.Archive} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	if err := os.MkdirAll(cfg.Folders.State, 0o700); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := station.MarkFolders(cfg); err != nil {
		return fmt.Errorf("init: %w", err)
	}

	if *devToken {
		dev, err := token.CreateDevTokenListen(abs, *devPKIListen)
		if err != nil {
			return fmt.Errorf("init: dev token: %w", err)
		}
		cfg.Station.Agency = "Cơ quan thử nghiệm (DEV)"
		// A made-up organ code for the dev station's edXML packages; a real one comes from the
		// agency's registration with the exchange.
		cfg.EdXML.OrganID = "000.00.00.T00"
		cfg.EdXML.OrganName = cfg.Station.Agency
		cfg.Signing.Module = dev.Module
		cfg.Signing.TokenLabel = dev.TokenLabel
		cfg.Signing.KeyLabel = dev.KeyLabel
		cfg.Signing.PINFile = dev.PINFile
		cfg.Signing.ChainFile = dev.ChainFile
		cfg.Signing.SoftHSM2Conf = dev.SoftHSMConf
		fmt.Fprintf(stdout, "created SoftHSM2 dev token %q with an RSA-2048 key and a TEST certificate (not for real documents)\n", dev.TokenLabel)
		fmt.Fprintf(stdout, "  test CA: %s (trust it only for testing)\n", dev.CAFile)
		fmt.Fprintf(stdout, "  TEST PKI services the certificates name: OCSP %s, CRL %s, TSA %s\n", dev.PKI.OCSP, dev.PKI.CRL, dev.PKI.TSA)
		fmt.Fprintf(stdout, "  start them with: scanstation dev-pki serve --dir %s (a test service, loopback only)\n", abs)
	}

	data, err := config.Render(cfg)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := outbox.WriteFileAtomic(abs, "scanstation.yaml", data, 0o640); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", cfgPath)
	fmt.Fprintf(stdout, "scanner hot-folder: %s\n", cfg.HotFolders[0].Path)
	if *devToken {
		fmt.Fprintf(stdout, "next: scanstation run --config %s\n", cfgPath)
	} else {
		fmt.Fprintf(stdout, "next: fill in the signing section, then scanstation config check --config %s\n", cfgPath)
	}
	return nil
}
