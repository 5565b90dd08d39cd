package token

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"scanstation/lang"
)

// With Config.Say from the station, the keeper's words to the operator are in the station's
// language and its log keys stay English.
func TestKeeperSpeaksTheStationsLanguage(t *testing.T) {
	dev := newDevToken(t)
	putBack := pullOut(t, dev)
	cfg, err := dev.Config()
	if err != nil {
		t.Fatal(err)
	}
	p := lang.Printer(lang.Vietnamese)
	cfg.Say = func(format string, args ...any) string { return p.Sprintf(format, args...) }
	k, logs := newTestKeeper(t, dev, cfg)

	short, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	_, err = k.Signer(short)
	cancel()
	if !errors.Is(err, ErrTokenAbsent) {
		t.Fatalf("Signer without the token: %v, want ErrTokenAbsent", err)
	}
	putBack()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := k.Signer(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`msg="đang chờ thiết bị ký số (token) scanstation-dev: hãy cắm token vào" token=scanstation-dev reason=`,
		`msg="thiết bị ký số (token) scanstation-dev đã được cắm lại"`,
		`msg="đã mở thiết bị ký số (token)" token=scanstation-dev certificate=`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not say %q:\n%s", want, logs)
		}
	}
	for _, english := range []string{logWaiting, logBack, "token opened"} {
		if strings.Contains(logs.String(), english) {
			t.Errorf("the log has English %q:\n%s", english, logs)
		}
	}
}
