package station

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"scanstation/journal"
	"scanstation/outbox"
	"scanstation/sender"
	"scanstation/watcher"
)

// work is one input to take through the pipeline: a path found in a hot-folder, or a job the
// journal says is unfinished.
type work struct {
	source string
	job    *journal.Job
}

// Run is the daemon: it first finishes the jobs a previous run left unfinished, then takes
// every complete file the watcher finds in the hot-folders, until ctx is cancelled. In-flight
// documents are then left at their last recorded state and resume at the next start.
func (s *Station) Run(ctx context.Context) error {
	ctx = withPageSlots(ctx, s.config().OCRWorkers()+1)
	w, dirs, err := s.newWatcher()
	if err != nil {
		return err
	}
	// Before any worker runs: delivery tells the sender about new packages.
	if s.config().Push.URL != "" {
		snd, err := s.newSender()
		if err != nil {
			return fmt.Errorf("push: %w", err)
		}
		s.sender = snd
	}
	unfinished, err := s.journal.Unfinished(ctx)
	if err != nil {
		return err
	}
	if len(unfinished) > 0 {
		s.log.Info(s.printer().Sprintf("resuming unfinished documents from the last run"), "count", len(unfinished))
	}

	queue := make(chan work)
	signQueue := make(chan *journal.Job, 1024)
	var wg, finishing sync.WaitGroup
	handOff := func(job *journal.Job) {
		select {
		case signQueue <- job:
		case <-ctx.Done():
		}
	}
	s.requeue = func(ctx context.Context, job *journal.Job) { handOff(job) }
	var feed func(work) bool
	// retryLater brings back a job that waits for something that returns by itself (disk
	// space, a share). The waits grow (10 s, 20 s, ... 5 min) while the same input keeps
	// waiting, so a share away for a day is not knocked at every 10 s by every document; once
	// a try of any input gets through (a wait ends), every waiting input is tried at once.
	var backoffMu sync.Mutex
	tries := map[string]int{}
	retryLater := func(out Outcome) {
		key := out.Source
		if out.JobID != 0 {
			key = jobKey(out.JobID)
		}
		backoffMu.Lock()
		if !out.retry {
			delete(tries, key) // it went on: its cause cleared
			backoffMu.Unlock()
			return
		}
		n := tries[key]
		tries[key] = n + 1
		backoffMu.Unlock()
		delay, since := retryDelay(n), s.waits.ended()
		go func() {
			tick := time.NewTicker(diskRetry)
			defer tick.Stop()
			for start := time.Now(); time.Since(start) < delay; {
				select {
				case <-tick.C:
				case <-ctx.Done():
					return
				}
				if s.waits.ended() != since {
					backoffMu.Lock()
					delete(tries, key)
					backoffMu.Unlock()
					break
				}
			}
			if out.JobID == 0 {
				feed(work{source: out.Source})
			} else {
				feed(work{job: &journal.Job{ID: out.JobID, Source: out.Source}})
			}
		}()
	}
	// whenFree brings back an input whose path another worker held: the watcher does not
	// report a file again, so it is looked at once that worker lets the path go.
	whenFree := func(out Outcome) {
		if out.busy == "" {
			return
		}
		go func() {
			if !s.claimWait(ctx, out.busy) {
				return
			}
			s.release(out.busy)
			if out.JobID == 0 {
				feed(work{source: out.Source})
			} else {
				feed(work{job: &journal.Job{ID: out.JobID, Source: out.Source}})
			}
		}()
	}
	// Documents in flight: enough to keep every OCR engine busy between one document's last
	// page and the next one's first.
	for range s.config().OCRWorkers() + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for item := range queue {
				out := s.runOne(ctx, item, handOff)
				retryLater(out)
				whenFree(out)
			}
		}()
	}
	// After signing, validation and delivery run beside the signer, which moves on.
	finish := func(job *journal.Job) {
		finishing.Add(1)
		go func() {
			defer finishing.Done()
			if !s.claimWait(ctx, jobKey(job.ID)) {
				return
			}
			fresh, err := s.journal.Get(ctx, job.ID)
			if err == nil && !fresh.State.Terminal() {
				retryLater(s.advance(ctx, fresh, false, nil, nil))
			}
			s.release(jobKey(job.ID))
			if err == nil && fresh.Batch != 0 && fresh.State.Terminal() {
				s.settleBatch(ctx, fresh.Batch)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.signer(ctx, signQueue, finish)
	}()

	feed = func(item work) bool {
		select {
		case queue <- item:
			return true
		case <-ctx.Done():
			return false
		}
	}
	watchErr := make(chan error, 1)
	go func() {
		for i := range unfinished {
			if !feed(work{job: &unfinished[i]}) {
				break
			}
		}
		watchErr <- s.watch(ctx, w, feed)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.watchApprovals(ctx, feed)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.report(ctx)
	}()
	if s.sender != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.sender.Run(ctx)
		}()
	}
	close(s.running)
	s.log.Info(s.printer().Sprintf("station running"), "hot_folders", dirs, "outbox", s.config().Folders.Outbox, "ocr_workers", s.config().OCRWorkers(),
		"token", s.keeper.State())

	<-ctx.Done()
	err = <-watchErr
	close(queue)
	wg.Wait()
	finishing.Wait()
	s.log.Info(s.printer().Sprintf("station stopped"))
	if err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// maxRetry caps the growing wait between tries of an input that waits.
const maxRetry = 5 * time.Minute

// retryDelay is the wait before the try after n tries that had to wait: diskRetry, doubled
// each time, at most maxRetry.
func retryDelay(n int) time.Duration {
	d := diskRetry
	for range n {
		if d *= 2; d >= maxRetry {
			return maxRetry
		}
	}
	return d
}

// newWatcher makes a watcher for the hot-folders of the configuration in force.
func (s *Station) newWatcher() (*watcher.Watcher, []string, error) {
	cfg := s.config()
	dirs := make([]string, len(cfg.HotFolders))
	for i, hf := range cfg.HotFolders {
		dirs[i] = hf.Path
	}
	w, err := watcher.New(watcher.Options{
		Dirs:            dirs,
		Settle:          cfg.Watch.Settle,
		Rescan:          cfg.Watch.Rescan,
		Ignore:          cfg.Watch.Ignore,
		NoEvents:        !cfg.Watch.Events,
		IncompleteGrace: cfg.Watch.IncompleteGrace,
		Logger:          s.log,
	})
	return w, dirs, err
}

// watch runs w until ctx ends, and replaces it with a watcher of the new hot-folders whenever
// Reload asks. Files already in flight are not affected: the watcher only finds new ones.
func (s *Station) watch(ctx context.Context, w *watcher.Watcher, feed func(work) bool) error {
	for {
		wctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.Run(wctx, func(path string) { feed(work{source: path}) }) }()
		select {
		case err := <-done:
			stop()
			return err
		case <-s.rewatch:
			stop()
			<-done
			next, dirs, err := s.newWatcher()
			if err != nil {
				s.log.Error("cannot watch the new hot-folders; keeping the old ones", "err", err)
				continue
			}
			w = next
			s.log.Info(s.printer().Sprintf("watching the hot-folders of the new configuration"), "hot_folders", dirs)
		}
	}
}

// report keeps the queue and token gauges current and writes state/status.json, which
// `scanstation status` (another process) reads for the token's state.
func (s *Station) report(ctx context.Context) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		s.writeStatus(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Status is what the daemon publishes about itself in state/status.json.
type Status struct {
	Updated time.Time      `json:"updated"`
	PID     int            `json:"pid"`
	Token   string         `json:"token"`
	Ready   bool           `json:"ready"`
	Why     string         `json:"why"`
	Queue   map[string]int `json:"queue"`
}

func (s *Station) writeStatus(ctx context.Context) {
	unfinished, err := s.journal.Unfinished(ctx)
	if err != nil {
		return
	}
	queue := map[string]int{}
	for _, j := range unfinished {
		queue[string(j.State)]++
	}
	s.metrics.Queue(queue)
	s.metrics.Token(s.keeper.State())
	ready, why := s.Ready()
	st := Status{Updated: time.Now(), PID: os.Getpid(), Token: s.keeper.State(), Ready: ready, Why: why, Queue: queue}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return
	}
	if err := outbox.WriteFileAtomic(s.config().Folders.State, "status.json", data, 0o600); err != nil && !outbox.IsDiskFull(err) {
		s.log.Warn("cannot write status.json", "err", err)
	}
}

// watchApprovals hands the pipeline the documents the clerk approved or rejected with
// `scanstation approve` and `reject`, which only write to the journal, and at once those
// decided in the console (nudge).
func (s *Station) watchApprovals(ctx context.Context, feed func(work) bool) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.decided:
		}
		approved, err := s.journal.InState(ctx, journal.Approved)
		if err != nil {
			s.log.Error("cannot read approvals from the journal", "err", err)
			continue
		}
		waiting, err := s.journal.InState(ctx, journal.AwaitingApproval)
		if err != nil {
			s.log.Error("cannot read approvals from the journal", "err", err)
			continue
		}
		for _, job := range waiting {
			if job.Reason != "" { // rejected
				approved = append(approved, job)
			}
		}
		for i := range approved {
			if !feed(work{job: &approved[i]}) {
				return
			}
		}
	}
}

// nudge tells watchApprovals that a decision was recorded in this process.
func (s *Station) nudge() {
	select {
	case s.decided <- struct{}{}:
	default:
	}
}

func (s *Station) runOne(ctx context.Context, item work, handOff func(*journal.Job)) Outcome {
	if s.journalLost() != "" {
		return Outcome{} // what it recorded nobody would read again: no work is taken (identity.go)
	}
	if item.job != nil {
		return s.runJob(ctx, item.job, handOff)
	}
	source := item.source
	if !s.claim(pathKey(source)) {
		// Another worker reads or moves this path now (its old job, not yet spooled, or
		// another report of the same file). The watcher does not report a file twice, so
		// look again once that worker is done: the file may be a new input.
		return Outcome{Source: source, Waiting: true, busy: pathKey(source)}
	}
	defer s.release(pathKey(source))
	job, err := s.take(ctx, source)
	if err != nil || job == nil {
		if err != nil {
			if outbox.IsDiskFull(err) || isJournalFull(err) {
				s.log.Error("cannot take file", "file", source, "err", err)
				s.diskFull(err)
				return Outcome{Source: source, Waiting: true, retry: true}
			}
			if transient(err) {
				// The watcher does not report it again: it is tried again later.
				s.waitFor(s.placeWait("hot-folder", s.hotFolderOf(source), err), err)
				return Outcome{Source: source, Waiting: true, retry: true}
			}
			s.log.Error("cannot take file", "file", source, "err", err)
		}
		return Outcome{}
	}
	if !s.claim(jobKey(job.ID)) {
		return Outcome{} // in flight already (signed or delivered beside us): its worker goes on
	}
	defer s.release(jobKey(job.ID))
	return s.advance(ctx, job, false, nil, handOff)
}

// runJob goes on with a job the journal knows (resumed, approved, retried). A job is claimed
// by its ID, not its path: once it has spooled its file, a new file saved under the same name
// is another input and is taken while this one is signed or delivered.
func (s *Station) runJob(ctx context.Context, job *journal.Job, handOff func(*journal.Job)) Outcome {
	out, batch := s.runClaimed(ctx, job, handOff)
	if batch != 0 {
		// The last document of a batch to finish archives the batch; not under the
		// document's claim, which the batch's own worker may be waiting for.
		s.settleBatch(ctx, batch)
	}
	return out
}

// runClaimed is runJob under the job's claim. It returns the job's batch when the job is a
// document of a batch and finished.
func (s *Station) runClaimed(ctx context.Context, job *journal.Job, handOff func(*journal.Job)) (Outcome, int64) {
	key := jobKey(job.ID)
	if !s.claim(key) {
		return Outcome{}, 0 // in flight already
	}
	defer s.release(key)
	// Queued a while ago: act on its state now.
	fresh, err := s.journal.Get(ctx, job.ID)
	if err != nil || fresh.State.Terminal() {
		return Outcome{}, 0
	}
	if fresh.State == journal.Received {
		// Not spooled yet: its step reads and moves the hot-folder path, which a worker
		// taking a file found there may hold. Path first, then job, is the order
		// elsewhere; here both are only tried, and a busy path is tried again later.
		if !s.claim(pathKey(fresh.Source)) {
			return Outcome{Source: fresh.Source, JobID: fresh.ID, Waiting: true, busy: pathKey(fresh.Source)}, 0
		}
		defer s.release(pathKey(fresh.Source))
	}
	out := s.advance(ctx, fresh, false, nil, handOff)
	if fresh.Batch != 0 && fresh.State.Terminal() {
		return out, fresh.Batch
	}
	return out, 0
}

// Claims keep one input from running twice at once: a path while its file is taken and
// spooled, a job while it goes on.
func pathKey(path string) string { return "path " + path }
func jobKey(id int64) string     { return fmt.Sprintf("job %d", id) }

func (s *Station) claim(key string) bool {
	s.inflightMu.Lock()
	defer s.inflightMu.Unlock()
	if s.inflight == nil {
		s.inflight = map[string]bool{}
	}
	if s.inflight[key] {
		return false
	}
	s.inflight[key] = true
	return true
}

// claimWait waits until source can be claimed; false when ctx ends first.
func (s *Station) claimWait(ctx context.Context, source string) bool {
	for !s.claim(source) {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return false
		}
	}
	return true
}

func (s *Station) release(key string) {
	s.inflightMu.Lock()
	defer s.inflightMu.Unlock()
	delete(s.inflight, key)
}

// Process takes the given files through the pipeline once, leaving them where they are (a
// copy is spooled and archived), and reports what became of each.
func (s *Station) Process(ctx context.Context, paths []string, progress Progress) []Outcome {
	outcomes := make([]Outcome, len(paths))
	sem := make(chan struct{}, s.config().OCRWorkers())
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if !s.claim(pathKey(p)) {
				outcomes[i] = Outcome{Source: p, Err: fmt.Errorf("%s is given twice", p)}
				return
			}
			defer s.release(pathKey(p))
			job, err := s.take(ctx, p)
			if err == nil && job == nil {
				err = fmt.Errorf("%s: no such file", p)
			}
			if err != nil {
				outcomes[i] = Outcome{Source: p, Err: err}
				return
			}
			outcomes[i] = s.advance(ctx, job, true, progress, nil)
		}()
	}
	wg.Wait()
	return outcomes
}

// newSender makes the sender that pushes the outbox's packages to the configured endpoint.
func (s *Station) newSender() (*sender.Sender, error) {
	push := s.config().Push
	return sender.New(sender.Config{
		URL: push.URL, Timeout: push.Timeout, ClientCert: push.ClientCert, ClientKey: push.ClientKey,
		CAFile: push.CAFile, MinBackoff: push.MinBackoff, MaxBackoff: push.MaxBackoff, Rescan: push.Rescan,
		SentDir: push.SentDir, RejectedDir: push.RejectedDir, Settled: s.deliverySettled,
	}, s.config().Folders.Outbox, s.log.With("part", "sender"))
}

// deliverySettled tells the sender whether the package name is a delivery the journal records.
// One a job is still delivering (a restart after the station stopped between naming the files
// and recording them) waits: the resumed delivery looks for its files in the outbox, and the
// sender taking them meanwhile made it write the package again, or fail a good scan. When the
// journal cannot be read the package waits too; that is said once until it can be read again.
func (s *Station) deliverySettled(ctx context.Context, name string) bool {
	busy, err := s.journal.Delivering(ctx, name)
	if err != nil {
		if !s.settleErrSaid.Swap(true) {
			s.log.Warn("cannot tell whether an outbox package is delivered; it waits in the outbox", "entry", name, "error", err)
		}
		return false
	}
	s.settleErrSaid.Store(false)
	return !busy
}
