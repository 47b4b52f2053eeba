package survey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"
)

// CodeAlphabet has 32 characters and none that look alike (no 0/O, 1/I).
// A code is 16 of them: 80 random bits.
const CodeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// CodeLen is the number of characters in a code, dashes aside.
const CodeLen = 16

// MaxBatch is the most codes one batch may hold.
const MaxBatch = 10000

// NewCode returns a fresh code from crypto/rand, written XXXX-XXXX-XXXX-XXXX.
func NewCode() string {
	var raw [10]byte // 80 bits = 16 × 5
	if _, err := rand.Read(raw[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported systems
	}
	var b [CodeLen + 3]byte
	bits, acc, n := 0, uint32(0), 0
	for _, c := range raw {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			if n > 0 && n%4 == 0 {
				b[n+n/4-1] = '-'
			}
			b[n+n/4] = CodeAlphabet[(acc>>bits)&31]
			n++
		}
	}
	return string(b[:])
}

// NormalizeCode accepts a code in any case, with or without dashes or
// spaces, and returns its 16 characters, or "" if it cannot be a code.
func NormalizeCode(s string) string {
	var b strings.Builder
	b.Grow(CodeLen)
	for _, r := range s {
		switch {
		case r == '-' || r == ' ':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		if r > 127 || strings.IndexByte(CodeAlphabet, byte(r)) < 0 {
			return ""
		}
		b.WriteRune(r)
	}
	if b.Len() != CodeLen {
		return ""
	}
	return b.String()
}

// FormatCode writes 16 normalized characters as XXXX-XXXX-XXXX-XXXX.
func FormatCode(n string) string {
	if len(n) != CodeLen {
		return n
	}
	return n[0:4] + "-" + n[4:8] + "-" + n[8:12] + "-" + n[12:16]
}

// Batch is a set of slips issued for one unit and voter category.
type Batch struct {
	ID        string
	RoundID   string
	Unit      string // "" for a batch of an all sheet
	Category  string
	Member    string // the holder of a recusal batch's one slip
	Count     int
	Voided    bool
	CreatedAt time.Time
}

// BatchRequest asks for a batch of count slips of a category: for a unit
// (its home unit for an others sheet; none for an all sheet) and, for a
// recusal category, the member who is to hold its one slip.
type BatchRequest struct {
	Unit     string
	Category string
	Member   string
	Count    int
}

// Issued is a batch just issued, with its codes: the only time they exist
// in plain text.
type Issued struct {
	Batch Batch
	Codes []string // formatted, in random order
}

// MaxIssue is the most slips one issuance (of one or many batches) may
// hold: a province's whole round (400,000) at once.
const MaxIssue = 500000

// CheckBatches checks requests for batches of a round with definition d:
// each names a unit and a category of it and asks for 1..MaxBatch slips, at
// least one is asked for and at most MaxIssue in all. Problems name each
// request's fields, prefixed with batches[i]. when there are several.
func CheckBatches(d *Definition, reqs []BatchRequest) error {
	var ps []Problem
	total := 0
	for i, q := range reqs {
		prefix := ""
		if len(reqs) > 1 {
			prefix = fmt.Sprintf("batches[%d].", i)
		}
		c := d.Category(q.Category)
		if c == nil {
			ps = append(ps, Problem{Path: prefix + "category", Message: fmt.Sprintf("没有测评人类别 %q", q.Category)})
		}
		ps = append(ps, checkBatchTarget(d, c, q, prefix)...)
		if q.Count < 1 || q.Count > MaxBatch {
			ps = append(ps, Problem{Path: prefix + "count", Message: fmt.Sprintf("每批可发放 1 至 %d 张，收到 %d", MaxBatch, q.Count)})
		}
		total += q.Count
	}
	switch {
	case len(reqs) == 0:
		ps = append(ps, Problem{Path: "batches", Message: "没有要发放的批次"})
	case total > MaxIssue:
		ps = append(ps, Problem{Path: "batches", Message: fmt.Sprintf("一次共发放 %d 张，超过 %d 张：请分几次发放", total, MaxIssue)})
	}
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

// SmallIssues are the units and categories issued fewer than min_group
// slips (one at least), with how many: under small_groups: exclude, even
// if every slip is used, their ballots enter no figure. Nil under count.
func SmallIssues(d *Definition, t []UnitTurnout) []SmallIssue {
	if d.Rules.SmallGroups != SmallGroupsExclude {
		return nil
	}
	var out []SmallIssue
	for _, u := range t {
		for _, c := range u.Categories {
			if n := c.Count.Issued; n >= 1 && n < d.Rules.MinGroup {
				out = append(out, SmallIssue{Group: Group{Unit: u.Unit, Category: c.Category}, Issued: n})
			}
		}
	}
	return out
}

// SmallIssue is a group issued too few slips to be counted.
type SmallIssue struct {
	Group
	Issued int
}

// Warning says, in Chinese, what a small issue means and what to do.
func (s SmallIssue) Warning(d *Definition) string {
	unit, cat := s.Unit, s.Category
	if u := d.Unit(unit); u != nil {
		unit = u.Name
	}
	if c := d.Category(cat); c != nil {
		cat = c.Name
	}
	return fmt.Sprintf("「%s」的「%s」只发放了 %d 张，少于 %d 人：即使全部参加，这些评价也不计入任何结果（以免从结果中反推出个人的评价）。请增发到 %d 张以上，或将这类测评人并入其他类别。",
		unit, cat, s.Issued, d.Rules.MinGroup, d.Rules.MinGroup)
}

// Slip is what a code opens: a round, a voter category, the unit its batch
// names (nil for an all sheet) and the member who holds a recusal slip.
type Slip struct {
	Round    *Round
	Unit     *Unit
	Category *Category
	Member   *Member
	Ref      SlipRef // where the store keeps the code: for the store only
}

// Sheet returns what the slip rates.
func (s *Slip) Sheet() *Sheet {
	return s.Round.Definition.SheetFor(s.Category, s.Unit, s.Member)
}

// SlipRef is how a store finds a slip's code again when its ballot is
// submitted: the code's keyed hash, its batch and its position there. It
// says nothing of the code itself, and nothing outside the store reads it.
type SlipRef struct {
	Hash  []byte
	Batch string
	Pos   int
}

// Count is issued and voted slips.
type Count struct {
	Issued int `json:"issued"`
	Voted  int `json:"voted"`
}

// UnitTurnout is the turnout of one unit, per category in definition order.
type UnitTurnout struct {
	Unit       string
	Count      Count
	Categories []CategoryTurnout
}

// CategoryTurnout is the turnout of one voter category in a unit.
type CategoryTurnout struct {
	Category string
	Count    Count
}

// checkBatchTarget checks what a batch request names against its
// category's sheet (CONTRACT §5.1): no unit for an all sheet, a unit for
// the others (the home unit of an others sheet), and for a recusal
// category a member of that unit and one slip.
func checkBatchTarget(d *Definition, c *Category, q BatchRequest, prefix string) []Problem {
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: prefix + path, Message: fmt.Sprintf(format, args...)})
	}
	u := d.Unit(q.Unit)
	switch {
	case c != nil && c.SheetKind() == SheetAll:
		if q.Unit != "" {
			add("unit", "「%s」一张票评价全部单位，发放时不指定单位", c.Name)
		}
	case u == nil:
		add("unit", "没有单位 %q", q.Unit)
	case c != nil && c.SheetKind() == SheetOthers && len(d.SheetUnits(c, u)) == 0:
		add("unit", "「%s」评价同类其他单位，但「%s」没有同类的其他单位", c.Name, u.Name)
	}
	switch {
	case c != nil && c.Recuse && q.Member == "":
		add("member", "「%s」需回避本人：每张票发给一名班子成员，请指定 member", c.Name)
	case c != nil && c.Recuse && u != nil && u.Member(q.Member) == nil:
		add("member", "「%s」没有班子成员 %q", u.Name, q.Member)
	case c != nil && c.Recuse && q.Count != 1:
		add("count", "回避类别每批只发 1 张（发给指定的班子成员），收到 %d", q.Count)
	case c != nil && !c.Recuse && q.Member != "":
		add("member", "「%s」不回避，发放时不指定班子成员", c.Name)
	}
	return ps
}

// CheckBaseURL checks an address slips are to point to: http or https,
// a host, no query or fragment; a path is allowed (behind a proxy). It
// returns the address without a trailing slash.
func CheckBaseURL(s string) (string, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", &ValidationError{Problems: []Problem{{Path: "base_url", Message: fmt.Sprintf("「%s」不是有效的地址：应形如 https://mp.example.gov.cn 或 http://10.1.2.3:8080", s)}}}
	}
	return s, nil
}

// CodeHasher is the keyed hash under which every store keeps a code —
// HMAC-SHA256 under the code key, which lives apart from the data — so
// that the code itself is stored nowhere. Its HMACs are kept for reuse:
// making one costs more than hashing a code.
type CodeHasher struct {
	key  []byte
	macs sync.Pool // of hash.Hash
}

// NewCodeHasher hashes codes under key.
func NewCodeHasher(key []byte) *CodeHasher { return &CodeHasher{key: key} }

// Hash is the keyed hash of a normalized code (NormalizeCode).
func (h *CodeHasher) Hash(normalized string) []byte {
	m, _ := h.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, h.key)
	}
	m.Reset()
	io.WriteString(m, normalized)
	sum := m.Sum(nil)
	h.macs.Put(m)
	return sum
}

// Derived is a key derived from the code key for purpose: the keyed hash
// of the purpose's name, which no code's hash can equal (no code reads
// like a purpose). A store derives what it seals under this way, so that
// the code key stays the one secret of the key directory it depends on.
func (h *CodeHasher) Derived(purpose string) []byte { return h.Hash(purpose) }

// AEAD is AES-256-GCM under the key derived for purpose.
func (h *CodeHasher) AEAD(purpose string) (cipher.AEAD, error) {
	block, err := aes.NewCipher(h.Derived(purpose))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
