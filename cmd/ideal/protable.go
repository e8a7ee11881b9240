package main

import (
	"flag"
	"io"

	"github.com/ideal-fsad/ideal/eval"
)

// proTable holds the --pro and --table flags of ideal eval and ideal metrics.
type proTable struct {
	pro   eval.PRO
	table string
}

// Tables printed by --table.
const (
	tableOurs    = "ours"
	tableAuthors = "authors"
)

// addProTableFlags adds --pro and --table to fs.
func addProTableFlags(fs *flag.FlagSet, p *proTable) {
	fs.Func("pro", "PRO metrics: both (default), mvtec (the exact MVTec AD AU-PRO) or authors (the authors' P-PRO: maps zoomed to 256, 4-connected regions, 50 thresholds)", func(s string) error {
		var err error
		p.pro, err = eval.ParsePRO(s)
		return err
	})
	fs.StringVar(&p.table, "table", tableOurs, "tables printed: ours, or authors (also the authors' four columns I-AUROC, I-AP, P-AUROC, P-PRO as main_infer.py prints them)")
}

// check validates the flags after parsing.
func (p *proTable) check() error {
	if p.pro == "" {
		p.pro = eval.PROBoth
	}
	switch {
	case p.table != tableOurs && p.table != tableAuthors:
		return usageErrorf("--table %q is not ours or authors", p.table)
	case p.table == tableAuthors && p.pro == eval.PROMVTec:
		return usageErrorf("--table authors needs the authors' P-PRO: --pro authors or both, not mvtec")
	}
	return nil
}

// printTables prints our table and, with --table authors, the authors' after it.
func printTables(w io.Writer, rep *metricsReport, table string) {
	printMetricsTable(w, rep)
	if table == tableAuthors {
		io.WriteString(w, "\nthe authors' table (their main_infer.py's format; P-PRO is their metric):\n")
		rep.WriteAuthorsTable(w)
	}
}
