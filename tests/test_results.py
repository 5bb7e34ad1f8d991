import json

import numpy as np

from maskrcnn_tutorial.graph import names
from maskrcnn_tutorial.io import rle
from maskrcnn_tutorial.io.results import (
    detection_records,
    format_detections,
    frame_record,
    write_json,
    write_raw,
)
from maskrcnn_tutorial.postprocess import postprocess


def test_rle_round_trip():
    mask = np.zeros((7, 9), bool)
    mask[1:5, 2:8] = True
    mask[2, 3] = False
    coded = rle.encode(mask)
    assert coded["size"] == [7, 9] and isinstance(coded["counts"], str)
    np.testing.assert_array_equal(rle.decode(coded), mask)


def test_records_carry_box_area_and_mask(raw_two):
    dets = postprocess(raw_two, labels=["a", "b", "c"])
    records = detection_records(dets)
    assert [r["label"] for r in records] == ["b", "c"]
    assert records[0]["box"] == [10, 10, 90, 80]
    for record, i in zip(records, range(len(dets)), strict=True):
        np.testing.assert_array_equal(rle.decode(record["mask"]), dets.full_mask(i))
        assert record["mask_area"] == int(dets.full_mask(i).sum())
    frame = frame_record("shapes", "x.png", dets, {"forward": 12.345})
    assert frame["width"] == 200 and frame["height"] == 100
    assert frame["timing_ms"] == {"forward": 12.35}
    assert len(format_detections(dets)) == 2 and "0.90" in format_detections(dets)[0]


def test_json_and_raw_files(raw_two, tmp_path):
    write_json(tmp_path / "d.json", {"a": 1})
    assert json.loads((tmp_path / "d.json").read_text()) == {"a": 1}
    write_raw(tmp_path / "r.npz", raw_two)
    saved = np.load(tmp_path / "r.npz")
    assert sorted(saved.files) == sorted(names.OUTPUTS)
    np.testing.assert_array_equal(saved[names.DETECTION_MASKS], raw_two.detection_masks)
