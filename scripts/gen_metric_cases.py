#!/usr/bin/python3
"""Generate metrics/testdata/cases.json: random anomaly-detection cases and the
metric values computed by scikit-learn (ROC/PR/F1) and by a faithful re-implementation
of the official MVTec AD AU-PRO evaluation (pro_curve_util.compute_pro +
generic_util.trapezoid: 8-connected regions via scipy.ndimage.label, every distinct
score a threshold, float32 FPRs, trapezoid to the limit with interpolation, / limit).

Run once (/usr/bin/python3 scripts/gen_metric_cases.py) with Debian's python3-sklearn,
python3-scipy and python3-numpy; the Go tests only read the committed JSON.

Scores are small integers times 2**-10, exact in float32 and float64, so the Go side
sees bit-identical inputs. Many ties (narrow integer ranges), several regions per mask,
regions touching only diagonally, classes of different sizes and image sizes, classes
without anomalies and without normal images are included on purpose.
"""
import json
import os
import sys
from bisect import bisect

import numpy as np
from scipy.ndimage import label
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

SCALE = 2.0 ** -10


def official_compute_pro(anomaly_maps, ground_truth_maps):
    """The PRO curve as the official MVTec AD evaluation code computes it."""
    structure = np.ones((3, 3), dtype=int)
    num_ok_pixels = 0
    num_gt_regions = 0
    shape = (len(anomaly_maps), anomaly_maps[0].shape[0], anomaly_maps[0].shape[1])
    fp_changes = np.zeros(shape, dtype=np.uint32)
    pro_changes = np.zeros(shape, dtype=np.float64)
    for i, gt in enumerate(ground_truth_maps):
        labeled, n = label(gt, structure)
        num_gt_regions += n
        ok = labeled == 0
        num_ok_pixels += np.sum(ok)
        fp = np.zeros_like(gt, dtype=np.uint32)
        fp[ok] = 1
        pro = np.zeros_like(gt, dtype=np.float64)
        for k in range(n):
            region = labeled == (k + 1)
            pro[region] = 1.0 / np.sum(region)
        fp_changes[i] = fp
        pro_changes[i] = pro
    scores = np.array(anomaly_maps).ravel()
    fp_flat = fp_changes.ravel()
    pro_flat = pro_changes.ravel()
    order = np.argsort(scores).astype(np.uint32)[::-1]
    scores = scores[order]
    fp_flat = fp_flat[order]
    pro_flat = pro_flat[order]
    fprs = np.cumsum(fp_flat).astype(np.float32) / np.float32(num_ok_pixels)
    pros = np.cumsum(pro_flat) / num_gt_regions
    keep = np.append(np.diff(scores) != 0, np.True_)
    fprs = np.clip(fprs[keep], None, 1.0)
    pros = np.clip(pros[keep], None, 1.0)
    return np.concatenate(([0.0], fprs, [1.0])), np.concatenate(([0.0], pros, [1.0]))


def official_trapezoid(x, y, x_max):
    x = np.asarray(x)
    y = np.asarray(y)
    correction = 0.0
    if x_max not in x:
        ins = bisect(x, x_max)
        assert 0 < ins < len(x)
        y_interp = y[ins - 1] + ((y[ins] - y[ins - 1]) * (x_max - x[ins - 1]) / (x[ins] - x[ins - 1]))
        correction = 0.5 * (y_interp + y[ins - 1]) * (x_max - x[ins - 1])
    mask = x <= x_max
    x = x[mask]
    y = y[mask]
    return np.sum(0.5 * (y[1:] + y[:-1]) * (x[1:] - x[:-1])) + correction


def f1_max(labels, scores):
    p, r, _ = precision_recall_curve(labels, scores)
    denom = p + r
    f1 = np.where(denom > 0, 2 * p * r / np.where(denom > 0, denom, 1), 0.0)
    return float(np.max(f1))


def binary_metrics(labels, scores):
    labels = np.asarray(labels, dtype=bool)
    if labels.all() or not labels.any():
        return None, None, None
    return (float(roc_auc_score(labels, scores)), float(average_precision_score(labels, scores)),
            f1_max(labels, scores))


def random_mask(rng, h, w):
    """A mask made of rectangles, discs, lone pixels and diagonal-only contacts."""
    m = np.zeros((h, w), dtype=bool)
    for _ in range(rng.integers(1, 5)):
        kind = rng.integers(0, 5)
        y, x = rng.integers(0, h), rng.integers(0, w)
        if kind == 0:
            m[y:y + rng.integers(1, 5), x:x + rng.integers(1, 6)] = True
        elif kind == 1:
            r = rng.integers(1, 4)
            yy, xx = np.mgrid[0:h, 0:w]
            m |= (yy - y) ** 2 + (xx - x) ** 2 <= r * r
        elif kind == 2:
            m[y, x] = True
        elif kind == 3:  # two blocks that touch only at a corner: one 8-connected region
            m[y:y + 2, x:x + 2] = True
            m[y + 2:y + 4, x + 2:x + 4] = True
        else:  # a diagonal line of single pixels
            for k in range(rng.integers(2, 6)):
                if y + k < h and x + k < w:
                    m[y + k, x + k] = True
    return m


def make_class(rng, name, n_images, h, w, p_anomalous, score_range, own_scores):
    images, maps, masks, labels = [], [], [], []
    for _ in range(n_images):
        anomalous = rng.random() < p_anomalous
        m = random_mask(rng, h, w) if anomalous else np.zeros((h, w), dtype=bool)
        base = rng.integers(-score_range, score_range + 1, size=(h, w))
        bonus = rng.integers(0, score_range // 4 + 2, size=(h, w)) * m
        ints = base + bonus
        maps.append((ints * SCALE).astype(np.float32))
        masks.append(m)
        labels.append(bool(m.any()))
        images.append({"w": w, "h": h, "map": ints.ravel().tolist(),
                       "mask": "".join("1" if v else "0" for v in m.ravel())})
    if own_scores:
        score_ints = rng.integers(0, 6, size=n_images) + 3 * np.array(labels)
        image_scores = score_ints * SCALE
        score_field = score_ints.tolist()
    else:
        image_scores = np.array([float(mp.max()) for mp in maps])
        score_field = None
    return images, maps, masks, labels, image_scores, score_field


def class_expected(maps, masks, labels, image_scores, pro_limit):
    ia, iap, if1 = binary_metrics(labels, image_scores)
    flat_masks = np.concatenate([m.ravel() for m in masks])
    flat_maps = np.concatenate([mp.ravel() for mp in maps]).astype(np.float64)
    pa, _, pf1 = binary_metrics(flat_masks, flat_maps)
    aupro = None
    if flat_masks.any() and not flat_masks.all():
        fprs, pros = official_compute_pro(maps, masks)
        aupro = float(official_trapezoid(fprs, pros, pro_limit) / pro_limit)
    return {"i_auroc": ia, "i_ap": iap, "i_f1max": if1, "p_auroc": pa, "p_f1max": pf1, "au_pro": aupro}


def main():
    rng = np.random.default_rng(20261129)
    cases = []
    specs = [
        # (name, pro_limit, [(n_images, h, w, p_anomalous, score_range, own_scores)])
        ("ties", 0.3, [(6, 10, 12, 0.5, 3, False), (11, 8, 8, 0.6, 2, True), (4, 12, 9, 0.5, 1, False)]),
        ("wide", 0.3, [(9, 16, 14, 0.6, 1 << 20, False), (3, 11, 13, 0.7, 1 << 16, False)]),
        ("medium", 0.3, [(15, 12, 12, 0.5, 60, True), (7, 20, 6, 0.5, 200, False), (2, 9, 9, 1.0, 40, False)]),
        ("no_anomalies", 0.3, [(5, 10, 10, 0.0, 50, False), (8, 10, 10, 0.5, 50, False)]),
        ("small_limit", 0.05, [(10, 14, 14, 0.5, 30, False), (6, 7, 15, 0.5, 500, True)]),
        ("limit_one", 1.0, [(8, 9, 11, 0.5, 10, False)]),
        ("mixed", 0.3, [(13, 13, 17, 0.4, 5, False), (5, 6, 6, 0.8, 7, True), (9, 15, 10, 0.5, 1000, False)]),
    ]
    for case_name, pro_limit, class_specs in specs:
        classes = []
        for ci, (n, h, w, pa, sr, own) in enumerate(class_specs):
            images, maps, masks, labels, image_scores, score_field = make_class(rng, f"c{ci}", n, h, w, pa, sr, own)
            classes.append({"name": f"c{ci}", "images": images, "image_scores": score_field,
                            "expected": class_expected(maps, masks, labels, image_scores, pro_limit)})
        cases.append({"name": case_name, "pro_limit": pro_limit, "scale": SCALE, "classes": classes})
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "metrics", "testdata", "cases.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"generator": "scripts/gen_metric_cases.py", "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {out} ({os.path.getsize(out)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
