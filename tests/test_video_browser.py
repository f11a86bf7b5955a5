"""The `posekit demo` page in a real browser (headless Chromium via Playwright, as tests/test_browser.py drives
it): the 3D viewer draws, and moving its slider changes the 3D drawing and the video frame on the left.

The page is built from the sample clip and its exact labels (no detector needed). Screenshots go to
artifacts/browser/video_page_*.png. Skipped with the reason when Playwright, Chromium or OpenCV is missing.
"""
import io
import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM = os.environ.get("POSEKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
                 "--no-sandbox", "--disable-dev-shm-usage"]


def _page(tmp_path) -> Path:
    pytest.importorskip("cv2", reason="OpenCV (the video extra) is not installed")
    from posekit.video import load_clip, sample_truth
    from posekit.video.detector import Detection
    from posekit.video.pipeline import Track2D, VideoResult
    clip = load_clip("")
    truth = sample_truth()
    T = clip.num_frames
    found = np.ones(T, bool)
    found[30:33] = False  # drawn dashed
    conf = np.where(found[:, None], 0.9, 0.0).astype(np.float32).repeat(17, 1)
    det = Detection(np.full((T, 33, 2), np.nan, np.float32), np.zeros((T, 33), np.float32), found)
    track = Track2D(clip, det, truth["joints_2d"], conf, found)
    poses = truth["joints_3d"] - truth["joints_3d"][:, :1]
    return VideoResult(track, poses, "ground truth", ["a note shown on the page"]).save(tmp_path)["html"]


def _image(png: bytes) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def test_demo_page_in_a_browser(tmp_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright); the browser test needs it")
    if not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium, or set POSEKIT_CHROMIUM)")
    html = _page(tmp_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 950})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(html.as_uri(), wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_selector("#pk-viewer .gl-container canvas", timeout=120_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / "video_page_before.png"))
            scene = page.locator("#pk-viewer .gl-container canvas").first
            before = _image(scene.screenshot())
            assert before.std() > 3 and len(np.unique(before.reshape(-1, 3), axis=0)) > 20, "blank 3D scene"
            assert page.text_content("#pk-label").startswith("frame 0 of 75")
            src = page.get_attribute("#pk-frame", "src")
            assert src.startswith("data:image/jpeg;base64,")
            assert page.locator("#pk-overlay line").count() == 16
            rail = page.locator("#pk-viewer .slider-rail-rect").first.bounding_box()
            page.mouse.click(rail["x"] + rail["width"] * 0.42, rail["y"] + rail["height"] / 2)
            page.wait_for_function("() => !document.getElementById('pk-label').textContent.startsWith('frame 0 ')",
                                   timeout=15_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / "video_page_after.png"))
            after = _image(scene.screenshot())
            assert page.get_attribute("#pk-frame", "src") != src, "the video frame did not follow the slider"
            assert float((np.abs(after - before).sum(-1) > 30).mean()) > 0.001, "the 3D scene did not change"
            label = page.text_content("#pk-label")
            frame = int(label.split()[1])
            assert 25 <= frame <= 40, label
            if 30 <= frame < 33:
                assert "interpolated" in label
            assert "a note shown on the page" in page.locator("body").inner_text()
            assert not errors, errors
        finally:
            browser.close()
