package survey

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Decimal is an exact number written in a definition as an integer or a
// decimal fraction (20, 33.5). It is kept as a rational so that weights and
// points never drift, and it is written back in its shortest decimal form.
type Decimal struct {
	r   big.Rat
	set bool // written in the definition, as opposed to left to its default
}

// Ratio is an exact proportion written as 2/3, 0.8 or 80%. Rules use it.
type Ratio struct {
	r   big.Rat
	set bool // written in the definition, as opposed to left to its default
}

// NewDecimal returns the decimal with the value n.
func NewDecimal(n int64) Decimal {
	var d Decimal
	d.r.SetInt64(n)
	d.set = true
	return d
}

// Rat returns a copy of the exact value.
func (d Decimal) Rat() *big.Rat { return new(big.Rat).Set(&d.r) }

// Rat returns a copy of the exact value.
func (q Ratio) Rat() *big.Rat { return new(big.Rat).Set(&q.r) }

// String writes the decimal in its shortest exact form.
func (d Decimal) String() string { return ratDecimal(&d.r) }

// String writes the ratio as a reduced fraction ("2/3"), or as a decimal when
// it has a finite one ("0.8").
func (q Ratio) String() string {
	if s, ok := FiniteDecimal(&q.r); ok {
		return s
	}
	return q.r.Num().String() + "/" + q.r.Denom().String()
}

// parseDecimal reads an integer or decimal literal.
func parseDecimal(s string) (big.Rat, error) {
	var r big.Rat
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "/%eE") {
		return r, fmt.Errorf("「%s」不是数字", s)
	}
	if _, ok := r.SetString(s); !ok {
		return r, fmt.Errorf("「%s」不是数字", s)
	}
	return r, nil
}

// parseRatio reads 2/3, 0.8 or 80%.
func parseRatio(s string) (big.Rat, error) {
	var r big.Rat
	s = strings.TrimSpace(s)
	percent := strings.HasSuffix(s, "%")
	s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	if s == "" || strings.ContainsAny(s, "eE") {
		return r, fmt.Errorf("「%s」不是比例（可写作 2/3、0.8 或 80%%）", s)
	}
	if _, ok := r.SetString(s); !ok {
		return r, fmt.Errorf("「%s」不是比例（可写作 2/3、0.8 或 80%%）", s)
	}
	if percent {
		r.Quo(&r, big.NewRat(100, 1))
	}
	return r, nil
}

// FiniteDecimal writes r in its shortest decimal form (0.8, 33.5, 20) if it
// has a finite one.
func FiniteDecimal(r *big.Rat) (string, bool) {
	d := new(big.Int).Set(r.Denom())
	places := 0
	for _, p := range []int64{2, 5} {
		bp := big.NewInt(p)
		m := new(big.Int)
		for {
			q, rem := new(big.Int).QuoRem(d, bp, m)
			if rem.Sign() != 0 {
				break
			}
			d = q
			places++
		}
	}
	if d.Cmp(big.NewInt(1)) != 0 {
		return "", false
	}
	s := r.FloatString(places)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s, true
}

func ratDecimal(r *big.Rat) string {
	if s, ok := FiniteDecimal(r); ok {
		return s
	}
	return r.FloatString(10)
}

func (d *Decimal) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("%s 不是数字", b)
	}
	r, err := parseDecimal(n.String())
	d.r, d.set = r, true
	return err
}

func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }

func (d *Decimal) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		return fmt.Errorf("「%s」不是数字", n.Value)
	}
	r, err := parseDecimal(n.Value)
	d.r, d.set = r, true
	return err
}

func (q *Ratio) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("%s 不是比例（可写作 2/3、0.8 或 80%%）", b)
		}
		s = n.String()
	}
	r, err := parseRatio(s)
	q.r, q.set = r, true
	return err
}

func (q Ratio) MarshalJSON() ([]byte, error) { return json.Marshal(q.String()) }

func (q *Ratio) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("不是比例（可写作 2/3、0.8 或 80%%）")
	}
	r, err := parseRatio(n.Value)
	q.r, q.set = r, true
	return err
}

func mustRatio(s string) Ratio {
	r, err := parseRatio(s)
	if err != nil {
		panic(err)
	}
	return Ratio{r: r, set: true}
}

var (
	bigOne     = big.NewRat(1, 1)
	bigHundred = big.NewRat(100, 1)
)

func newRat() *big.Rat { return new(big.Rat) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
