package ocr

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// A Pool recognises pages in parallel with n engines, one per worker. Its
// methods are safe for concurrent use.
type Pool struct {
	free      chan *Engine
	engines   []*Engine
	closed    chan struct{}
	closeOnce sync.Once
}

// NewPool starts n engines (n <= 0: one per CPU). Each engine holds its own
// models, about 100 MB with vie+eng and OSD, and uses one core.
func NewPool(n int, opt Options) (*Pool, error) {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{free: make(chan *Engine, n), closed: make(chan struct{})}
	for i := range n {
		e, err := NewEngine(opt)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("start OCR engine %d of %d: %w", i+1, n, err)
		}
		p.engines = append(p.engines, e)
		p.free <- e
	}
	return p, nil
}

// Recognize waits for a free engine and recognises img with it (see
// Engine.Recognize). ctx bounds the wait; a page whose recognition has
// started runs to the end, a second or two.
func (p *Pool) Recognize(ctx context.Context, img []byte) (*Result, error) {
	// Damaged images are refused before an engine is taken.
	width, height, err := imageSize(img)
	if err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	select {
	case <-p.closed:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("ocr: waiting for a free engine: %w", context.Cause(ctx))
	case e := <-p.free:
		defer func() { p.free <- e }()
		select {
		case <-p.closed:
			return nil, ErrClosed
		default:
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("ocr: %w", context.Cause(ctx))
		}
		res, err := e.recognize(img, width, height)
		if err != nil && !errors.Is(err, ErrClosed) {
			return nil, fmt.Errorf("ocr: %w", err)
		}
		return res, err
	}
}

// Close waits for the pages being recognised and releases all engines.
// Closing twice is harmless.
func (p *Pool) Close() error {
	var err error
	p.closeOnce.Do(func() {
		close(p.closed)
		for range p.engines {
			e := <-p.free
			if cerr := e.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
	})
	return err
}
