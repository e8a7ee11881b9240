package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Value is a metric value; NaN means undefined and is written to JSON as null.
type Value float64

// Defined reports whether v is a number.
func (v Value) Defined() bool { return !math.IsNaN(float64(v)) }

// MarshalJSON writes null for an undefined value.
func (v Value) MarshalJSON() ([]byte, error) {
	if !v.Defined() {
		return []byte("null"), nil
	}
	return json.Marshal(float64(v))
}

// UnmarshalJSON reads null as undefined.
func (v *Value) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*v = Value(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	*v = Value(f)
	return nil
}

// Names are the six metrics in the order of ClassResult.Values.
var Names = [6]string{"I-AUROC", "I-AP", "I-F1max", "P-AUROC", "P-F1max", "AU-PRO"}

// ClassResult gathers the image and pixel metrics of one class.
type ClassResult struct {
	Class           string `json:"class"`
	Images          int    `json:"images"`
	AnomalousImages int    `json:"anomalous_images"`
	Pixels          int64  `json:"pixels"`
	AnomalousPixels int64  `json:"anomalous_pixels"`
	Regions         int    `json:"regions"`
	IAUROC          Value  `json:"i_auroc"`
	IAP             Value  `json:"i_ap"`
	IF1Max          Value  `json:"i_f1max"`
	PAUROC          Value  `json:"p_auroc"`
	PF1Max          Value  `json:"p_f1max"`
	AUPRO           Value  `json:"au_pro"`
	// AuthorsPRO is the authors' P-PRO (AuthorsPROAccumulator, not the AU-PRO
	// above); nil when it was not computed.
	AuthorsPRO *Value   `json:"p_pro_authors,omitempty"`
	Undefined  []string `json:"undefined,omitempty"` // "metric: reason" for every NaN
}

// NewClassResult combines the image and pixel results of one class.
func NewClassResult(class string, img ImageResult, pix PixelResult) ClassResult {
	r := ClassResult{
		Class: class, Images: img.Images, AnomalousImages: img.Anomalous,
		Pixels: pix.Pixels, AnomalousPixels: pix.Anomalous, Regions: pix.Regions,
		IAUROC: Value(img.AUROC), IAP: Value(img.AP), IF1Max: Value(img.F1Max),
		PAUROC: Value(pix.AUROC), PF1Max: Value(pix.F1Max), AUPRO: Value(pix.AUPRO),
	}
	for i, v := range r.Values() {
		if v.Defined() {
			continue
		}
		why := img.UndefinedBecause
		if i >= 3 {
			why = pix.UndefinedBecause
		}
		r.Undefined = append(r.Undefined, Names[i]+": "+why)
	}
	return r
}

// SetAuthorsPRO records the authors' P-PRO of the class (and why it is undefined).
func (r *ClassResult) SetAuthorsPRO(a AuthorsPROResult) {
	v := Value(a.PRO)
	r.AuthorsPRO = &v
	if !v.Defined() {
		r.Undefined = append(r.Undefined, AuthorsPROName+": "+a.UndefinedBecause)
	}
}

// Values returns the six metrics in the order of Names.
func (r ClassResult) Values() [6]Value {
	return [6]Value{r.IAUROC, r.IAP, r.IF1Max, r.PAUROC, r.PF1Max, r.AUPRO}
}

// MeanResult is the mean of every metric over the classes where it is defined.
type MeanResult struct {
	Classes int   `json:"classes"`
	IAUROC  Value `json:"i_auroc"`
	IAP     Value `json:"i_ap"`
	IF1Max  Value `json:"i_f1max"`
	PAUROC  Value `json:"p_auroc"`
	PF1Max  Value `json:"p_f1max"`
	AUPRO   Value `json:"au_pro"`
	// AuthorsPRO is the mean of the authors' P-PRO, nil when no class has it.
	AuthorsPRO *Value `json:"p_pro_authors,omitempty"`
	// Excluded names, per metric, the classes left out because the metric is
	// undefined for them, e.g. "I-AUROC: 1 of 15 classes left out (screw)".
	Excluded []string `json:"excluded,omitempty"`
}

// Values returns the six means in the order of Names.
func (m MeanResult) Values() [6]Value {
	return [6]Value{m.IAUROC, m.IAP, m.IF1Max, m.PAUROC, m.PF1Max, m.AUPRO}
}

// Mean averages every metric over the classes where it is defined; a metric
// undefined for every class is undefined. The authors' P-PRO is averaged when a
// class has it (a class without it counts as undefined).
func Mean(rs []ClassResult) MeanResult {
	var out [6]Value
	m := MeanResult{Classes: len(rs)}
	for i := range Names {
		out[i] = m.mean(rs, Names[i], func(r ClassResult) Value { return r.Values()[i] })
	}
	m.IAUROC, m.IAP, m.IF1Max, m.PAUROC, m.PF1Max, m.AUPRO = out[0], out[1], out[2], out[3], out[4], out[5]
	if slices.ContainsFunc(rs, func(r ClassResult) bool { return r.AuthorsPRO != nil }) {
		v := m.mean(rs, AuthorsPROName, func(r ClassResult) Value {
			if r.AuthorsPRO == nil {
				return Value(math.NaN())
			}
			return *r.AuthorsPRO
		})
		m.AuthorsPRO = &v
	}
	return m
}

// mean averages one metric over the classes where it is defined and notes in
// m.Excluded the classes left out.
func (m *MeanResult) mean(rs []ClassResult, name string, value func(ClassResult) Value) Value {
	var sum float64
	var n int
	var left []string
	for _, r := range rs {
		if v := value(r); v.Defined() {
			sum += float64(v)
			n++
		} else {
			left = append(left, r.Class)
		}
	}
	if len(left) > 0 {
		m.Excluded = append(m.Excluded, fmt.Sprintf("%s: %d of %d classes left out (%s)",
			name, len(left), len(rs), strings.Join(left, ", ")))
	}
	if n == 0 {
		return Value(math.NaN())
	}
	return Value(sum / float64(n))
}
