package weights

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ideal-fsad/ideal/tensor"
)

// checkDecoded fails on a result that is neither an error nor a well-formed File.
func checkDecoded(t *testing.T, f *File, err error) {
	t.Helper()
	if err != nil {
		return
	}
	if len(f.Tensors) == 0 {
		t.Fatal("no error and no tensors")
	}
	for name, d := range f.Tensors {
		if d == nil || len(d.Data) != tensor.Numel(d.Shape) {
			t.Fatalf("tensor %q is malformed", name)
		}
	}
}

// FuzzPth feeds whole files to the format sniffer and both PyTorch readers. Most mutations
// of a zip break its checksums, so FuzzPthPickle below reaches the pickle reader better.
func FuzzPth(f *testing.F) {
	f.Add(stridedArchive(f, "archive"))
	f.Add(torchScriptArchive(f))
	for _, name := range []string{"views.pth", "net_trace.pt"} {
		b, err := os.ReadFile(filepath.Join(torchVariants, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for name, c := range badArchives(f) {
		if name != "amplified views" { // 1 s per run: it expands 32M elements before refusing
			f.Add(c.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, n := bytes.NewReader(data), int64(len(data))
		out, err := Decode(r, n)
		checkDecoded(t, out, err)
		out, err = DecodePth(r, n)
		checkDecoded(t, out, err)
		out, err = DecodeTorchScript(r, n)
		checkDecoded(t, out, err)
	})
}

// FuzzPthPickle wraps the fuzzed bytes as data.pkl of a valid archive that also holds
// two small storages (12 and 2 floats), read as a state dict and as TorchScript. The seeds
// include the data.pkl of the archives PyTorch wrote in testdata/torch-variants and of
// each official checkpoint when ../shared is present.
func FuzzPthPickle(f *testing.F) {
	f.Add(stateDictPickle(
		tensorSpec{name: "t", storage: "FloatStorage", key: "0", numel: 12, offset: 1, size: []int{3, 2}, stride: []int{1, 3}},
		tensorSpec{name: "p", storage: "HalfStorage", key: "1", numel: 4, size: []int{2, 2}, stride: []int{1, 2}, param: true},
	))
	for _, b := range [][]byte{stridedArchive(f, "archive"), torchScriptArchive(f)} {
		f.Add(recordOf(f, b, "data.pkl"))
	}
	for _, name := range []string{"views.pth", "net_state.pth", "net_trace.pt", "net_script.pt", "net_pickled_module.pth"} {
		b, err := os.ReadFile(filepath.Join(torchVariants, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(recordOf(f, b, "data.pkl"))
	}
	if dir, err := officialPath(); err == nil {
		for _, name := range []string{"head_official.pth", "hub_state_dict_vits_1block.pth", "trace_tiny.pt"} {
			z, err := zip.OpenReader(filepath.Join(dir, name))
			if err != nil {
				f.Fatal(err)
			}
			for _, r := range z.File {
				if filepath.Base(r.Name) == "data.pkl" || filepath.Base(r.Name) == "constants.pkl" {
					f.Add(readZipRecord(f, r))
				}
			}
			z.Close()
		}
	}
	storages := map[string][]byte{"data/0": float32Bytes(iota32(12)...), "data/1": float32Bytes(1, 2)}
	f.Fuzz(func(t *testing.T, pkl []byte) {
		rec := map[string][]byte{"data.pkl": pkl}
		for k, v := range storages {
			rec[k] = v
		}
		out, err := decodeBytes(zipArchive(t, "archive", rec))
		checkDecoded(t, out, err)
		rec["constants.pkl"] = []byte{0x80, 2, ')', '.'}
		out, err = decodeBytes(zipArchive(t, "archive", rec))
		checkDecoded(t, out, err)
	})
}

// recordOf returns the record of a zip archive whose name ends in "/"+name.
func recordOf(t testing.TB, archive []byte, name string) []byte {
	z, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range z.File {
		if filepath.Base(r.Name) == name {
			return readZipRecord(t, r)
		}
	}
	t.Fatalf("no record %s", name)
	return nil
}

func readZipRecord(t testing.TB, r *zip.File) []byte {
	rc, err := r.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
