// Package data reads anomaly-detection data sets in their published layouts and builds
// the few-shot episodes of IDEAL (spec §1, §8). It works on paths only: images and
// masks are decoded elsewhere (package imaging), where a mask is binarised (any value
// > 0 is defect), so multi-valued masks such as VisA's are fine.
//
// # Reading a data set
//
// Open(root, format, classes) returns a Dataset: one Class per product with its
// training images (Train, normal) and its test images (Test, normal and anomalous,
// each anomalous image with its mask). Normal images have DefectType "good".
// Problems of single images (an anomalous image without a mask, a CSV row naming a
// missing file) do not stop the reading: the image is left out and recorded in
// Class.Problems, so that a long evaluation can report it and go on (or stop, if the
// caller prefers: see Dataset.Problems). A broken layout (no class found, an empty
// class, a missing train or test folder, a malformed CSV) is an error that says what
// was expected and what was found.
//
// The formats, with ROOT the folder given to Open:
//
//	mvtec   ROOT/<class>/train/good/*           normal training images
//	        ROOT/<class>/test/good/*            normal test images
//	        ROOT/<class>/test/<type>/<name>.png anomalous test images, one folder per defect type
//	        ROOT/<class>/ground_truth/<type>/<name>_mask.png
//	mpdd    the same as mvtec.
//	btad    ROOT/<class>/train/ok, ROOT/<class>/test/ok, ROOT/<class>/test/ko and
//	        ROOT/<class>/ground_truth/ko/<name>.png (or .bmp): the mask has the image's
//	        name, and may be a .png beside a .bmp image. Normal images get DefectType
//	        "good", anomalous ones "ko".
//	visa    either the raw release: ROOT/split_csv/1cls.csv with the columns
//	        object,split,label,image,mask (label normal or anomaly; paths relative to
//	        ROOT, e.g. candle/Data/Images/Anomaly/000.JPG and
//	        candle/Data/Masks/Anomaly/000.png), or the converted MVTec-style layout
//	        written by the VisA prepare_data.py script: ROOT/<class>/train/good,
//	        test/good, test/bad, ground_truth/bad/<name>.png (ROOT may also be the
//	        folder that holds 1cls/). VisA has no defect types: every anomalous image
//	        has DefectType "bad" in both layouts.
//	folder  a layout for users' own data, one folder per class:
//	        ROOT/<class>/normal/*                normal images
//	        ROOT/<class>/abnormal/<type>/*       anomalous images, one folder per defect type
//	        ROOT/<class>/masks/<type>/<name>_mask.png (or <name>.png, any image extension)
//	        If ROOT itself holds normal/ or abnormal/, ROOT is the only class, named
//	        after its base name. All folder images are test images; normal references
//	        are then drawn from normal/ and removed from the queries.
//	meta    the authors' description ROOT/meta.json (OpenMeta: any file), written by
//	        their dataset/gen_*_json.py for every data set of the paper (MVTec AD,
//	        VisA, BTAD, MPDD, AITEX, BraTS, Liver, RESC): {"train"|"test": {class:
//	        [{img_path, mask_path, cls_name, specie_name, anomaly}]}}, paths relative
//	        to ROOT. Read as their loader reads it: the classes of "test", an empty
//	        specie_name is "bad" (anomalous) or "good"; anomaly 1 needs mask_path.
//
// In every MVTec-like layout the mask of test/<type>/<name>.<ext> is looked up in
// ground_truth/<type>/ under the names <name>_mask.png, <name>.png, <name>_mask.<ext>,
// <name>.<ext>, <name>_mask.bmp and <name>.bmp, in this order, ignoring case. When
// some are not found but ground_truth/<type>/ holds as many mask images as there are
// images, they are paired by sorted position, as the authors' generators pair them
// (unless that contradicts a mask found by name), with a warning (Class.Warnings). Image
// files are recognised by their extension (.png, .jpg, .jpeg, .bmp, .tif, .tiff,
// .webp); hidden files and other files are ignored. Detect guesses the format from the
// folders. Every sample has a Key, <split>/<folder>/<name>, that names it in an
// MVTec-style tree whatever the layout (e.g. for anomaly-map folders).
//
// # Fixed reference sets
//
// ReadRefSet reads the authors' fixed reference-set layout:
//
//	REFROOT/<dataset>/<class>/normal/*            normal references
//	REFROOT/<dataset>/<class>/abnormal/<name>.<ext> abnormal references, each with
//	REFROOT/<dataset>/<class>/abnormal/<name>_mask.<ext> its mask beside it
//
// <dataset> is matched ignoring case, '_', '-' and spaces (RefSetNames: the data
// set's folder name, then MVTecAD, VisA, BTAD, MPDD by format), as the authors'
// download names its folders. Abnormal references may also sit in abnormal/<type>/
// folders, which gives their defect type. Otherwise the defect type is taken from the
// test image of the data set with the same content (references are copies of test
// images), which is also how references are removed from the queries; a reference
// that matches no test (or training) image is a warning, and fewer references than
// wanted are repeated cyclically, with a warning (Episode.Warnings).
//
// # Episodes
//
// NewEpisode builds the evaluation episode of one class (Episodes: of every class):
// fixed references (given, or drawn with a seed) and the queries, without the
// references, in the general or the hard setting. Sampler draws training episodes
// (spec §8), deterministically for a seed (math/rand/v2 PCG).
package data
