package console

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"minping/survey"
)

// A printer jams, a tab is closed before printing: the codes of a sheet
// just issued must not be lost with it, yet they exist nowhere but in that
// response. So the console keeps each print job's codes for a while —
// encrypted in memory under a key made when the process starts, never on
// disk — and the batches page offers to reopen the sheet until the
// organiser says it printed (which forgets the codes) or reprintFor has
// passed. A restart forgets every job.

// reprintFor is how long a print job's codes can be reopened after it was
// last opened: a province's job of 400 parts is printed over hours, each
// part opened as the last comes out of the printer.
const reprintFor = 30 * time.Minute

// printJobs holds the print jobs of recent issues.
type printJobs struct {
	mu   sync.Mutex
	aead cipher.AEAD
	jobs map[string]*printJob
}

// printJob is one issue's print sheet: its batches, and their codes sealed.
type printJob struct {
	ID      string
	Round   string
	Batches int
	Slips   int
	Issued  time.Time
	used    time.Time // last issued or opened: it expires reprintFor after
	sealed  []byte    // nonce ‖ AES-GCM of the issued batches with their codes
}

func newPrintJobs() *printJobs {
	key := make([]byte, 32)
	rand.Read(key)
	block, _ := aes.NewCipher(key)  // a 32-byte key always makes a cipher
	aead, _ := cipher.NewGCM(block) // and a GCM of it
	return &printJobs{aead: aead, jobs: map[string]*printJob{}}
}

// keep seals an issue's codes and returns its job id.
func (p *printJobs) keep(roundID string, issued []survey.Issued, now time.Time) string {
	plain, _ := json.Marshal(issued) // our own types
	nonce := make([]byte, p.aead.NonceSize())
	rand.Read(nonce)
	job := &printJob{ID: survey.NewToken(), Round: roundID, Batches: len(issued), Issued: now, used: now,
		sealed: p.aead.Seal(nonce, nonce, plain, []byte(roundID))}
	for _, is := range issued {
		job.Slips += len(is.Codes)
	}
	clear(plain)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	p.jobs[job.ID] = job
	return job.ID
}

// open returns a job's issued batches with their codes.
func (p *printJobs) open(roundID, id string, now time.Time) ([]survey.Issued, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	job := p.jobs[id]
	if job == nil || job.Round != roundID {
		return nil, false
	}
	job.used = now
	n := p.aead.NonceSize()
	plain, err := p.aead.Open(nil, job.sealed[:n], job.sealed[n:], []byte(roundID))
	if err != nil {
		return nil, false
	}
	defer clear(plain)
	var issued []survey.Issued
	if json.Unmarshal(plain, &issued) != nil {
		return nil, false
	}
	return issued, true
}

// done forgets a job's codes.
func (p *printJobs) done(roundID, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if job := p.jobs[id]; job != nil && job.Round == roundID {
		clear(job.sealed)
		delete(p.jobs, id)
	}
}

// of lists a round's jobs still open, newest first.
func (p *printJobs) of(roundID string, now time.Time) []printJob {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	var out []printJob
	for _, j := range p.jobs {
		if j.Round == roundID {
			out = append(out, *j)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Issued.After(out[b].Issued) })
	return out
}

// expire forgets jobs not opened for reprintFor; mu must be held.
func (p *printJobs) expire(now time.Time) {
	for id, j := range p.jobs {
		if now.Sub(j.used) > reprintFor {
			clear(j.sealed)
			delete(p.jobs, id)
		}
	}
}

// PrintNav is the part of a large issue a print sheet shows, and the
// links to every part.
type PrintNav struct {
	Part, Parts, Total int
	Links              []string
}

// partOf returns part (from 1) of the issued batches' slips, size slips to
// a part, in the order they were issued, and the number of parts.
func partOf(issued []survey.Issued, part, size int) ([]survey.Issued, int) {
	total := 0
	for _, is := range issued {
		total += len(is.Codes)
	}
	parts := max(1, (total+size-1)/size)
	part = min(max(part, 1), parts)
	if parts == 1 {
		return issued, 1
	}
	lo, hi := (part-1)*size, part*size
	var out []survey.Issued
	at := 0
	for _, is := range issued {
		n := len(is.Codes)
		from, to := max(lo-at, 0), min(hi-at, n)
		if from < to {
			out = append(out, survey.Issued{Batch: is.Batch, Codes: is.Codes[from:to]})
		}
		at += n
	}
	return out, parts
}

// Reprint reopens a print job's sheet, with the same codes.
func (s *Console) Reprint(c *gin.Context) {
	r, ok := s.round(c)
	if !ok {
		return
	}
	issued, ok := s.prints.open(r.ID, c.Param("job"), s.now())
	if !ok {
		s.consoleError(c, http.StatusNotFound, "打印页已不能重新打开",
			fmt.Sprintf("发放后 %d 分钟内、点“已打印”之前可以重新打开；之后测评码只存在于已打印的纸上。如未打印，请作废该批次后重新发放。", int(reprintFor/time.Minute)))
		return
	}
	s.log.Info("print sheet reopened", "round", r.ID, "batches", len(issued), "by", s.host.Account(c).Name)
	s.printIssued(c, r, issued)
}

// Printed forgets a print job's codes: they exist only on paper now.
func (s *Console) Printed(c *gin.Context) {
	s.prints.done(c.Param("id"), c.Param("job"))
	consoleRedirect(c, "/console/rounds/"+c.Param("id")+"/batches", "printed")
}
