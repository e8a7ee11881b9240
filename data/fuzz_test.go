package data

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzVisACSV feeds arbitrary split CSVs to the VisA reader: it must never panic,
// and whatever it returns must name existing files inside the data set folder.
func FuzzVisACSV(f *testing.F) {
	good := "object,split,label,image,mask\n" +
		"candle,train,normal,candle/Data/Images/Normal/0000.JPG,\n" +
		"candle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data/Masks/Anomaly/000.png\n"
	f.Add([]byte(good))
	f.Add([]byte(good[:len(good)/2]))
	f.Add([]byte("\ufeff" + good))
	f.Add([]byte(""))
	f.Add([]byte("object,split,label,image,mask\n\"candle,test,normal,a,\n"))
	f.Add([]byte("mask,image,label,split,object\n,candle/Data/Images/Normal/0000.JPG,normal,test,candle\n"))
	f.Add([]byte("object,split,label,image,mask\ncandle,test,anomaly,../../etc/passwd,/etc/passwd\n"))
	f.Add([]byte("object,split,label,image,mask\ncandle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data\n"))
	root := f.TempDir()
	for _, p := range []string{"candle/Data/Images/Normal/0000.JPG", "candle/Data/Images/Anomaly/000.JPG", "candle/Data/Masks/Anomaly/000.png"} {
		writeFile(f, filepath.Join(root, p))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := readVisACSV(root, "1cls.csv", bytes.NewReader(b), nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "data: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		for _, c := range cs {
			if len(c.Test) == 0 {
				t.Fatalf("class %s without test images", c.Name)
			}
			for _, s := range append(c.Train, c.Test...) {
				if !strings.HasPrefix(s.Path, root+string(filepath.Separator)) {
					t.Fatalf("path %s outside %s", s.Path, root)
				}
				if s.Anomalous && s.MaskPath == "" {
					t.Fatalf("anomalous %s without mask", s.Path)
				}
			}
		}
	})
}
