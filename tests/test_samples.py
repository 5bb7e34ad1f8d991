import cv2
import numpy as np
import pytest

from maskrcnn_tutorial.synthetic import samples
from maskrcnn_tutorial.synthetic.scenes import is_training_seed, make_scene
from tests import requires


def test_shapes_samples_are_held_out_scenes():
    assert not any(is_training_seed(seed) for seed in samples.SCENE_SEEDS)
    name, image = samples.sample_image("shapes", 1)
    assert name == f"scene {samples.SCENE_SEEDS[1]}"
    np.testing.assert_array_equal(image, make_scene(samples.SCENE_SEEDS[1]).image)


@pytest.mark.parametrize("index", range(4))
def test_coco_samples_are_bgr_photos(index):
    requires.module("skimage", "needs scikit-image (the notebooks extra, which make installs)")
    name, image = samples.sample_image("coco", index)
    assert name == samples.sample_names("coco")[index]
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
    if name == "astronaut":  # channels reversed from scikit-image's RGB
        from skimage import data

        np.testing.assert_array_equal(image[..., ::-1], data.astronaut())


def test_real_photos_and_clip_ship_in_the_data_folder():
    for name in ("fruits", "basketball", "football"):
        image = samples.PHOTOS[name]()
        assert image.ndim == 3 and min(image.shape[:2]) >= 288
    assert samples.sample_names("coco")[0] == "fruits"
    capture = cv2.VideoCapture(str(samples.PEDESTRIAN_CLIP))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 30 and capture.read()[0]


def test_the_shapes_model_warns_about_photos():
    assert "five synthetic shapes" in samples.photo_notice("shapes")
    assert samples.photo_notice("coco") is None
