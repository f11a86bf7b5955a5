"""The 3D viewer in a real browser: JupyterLab in headless Chromium, driven by Playwright.

Starts JupyterLab on 127.0.0.1 (free port, token, no browser, temporary root holding a copy of the notebooks so
that nothing is saved into the repository), opens `notebooks/00_tour.ipynb`, runs all cells from the Run menu,
waits for the kernel to finish (the notebook trains a small model; POSEKIT_PROFILE=smoke), then checks the first
animated 3D viewer (a plotly figure with a WebGL scene and a frame slider): it draws a non-uniform image, moving
the slider changes the drawing, no cell raised and no widget failed to load. Screenshots go to
`artifacts/browser/`.

Needs Playwright (the Python package) and Chromium at /usr/bin/chromium (or $POSEKIT_CHROMIUM); skipped with
the reason when either is missing. $POSEKIT_BROWSER_NOTEBOOK points the test at another notebook (a path
relative to the repository root, or absolute) when developing it; $POSEKIT_BROWSER_TIMEOUT (seconds, default
420) bounds the Run All.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM = os.environ.get("POSEKIT_CHROMIUM", "/usr/bin/chromium")
NOTEBOOK = os.environ.get("POSEKIT_BROWSER_NOTEBOOK", "notebooks/00_tour.ipynb")
RUN_TIMEOUT_S = float(os.environ.get("POSEKIT_BROWSER_TIMEOUT", "420"))
# WebGL without a GPU: Chromium's software rasteriser (SwiftShader) must be allowed explicitly.
CHROMIUM_ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
                 "--no-sandbox", "--disable-dev-shm-usage"]
WIDGET_ERRORS = ("Error displaying widget", "Failed to load model class")


def _require_browser():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright); the browser test needs it")
    if not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium, or set POSEKIT_CHROMIUM)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings: Path):
    """JupyterLab user settings for an unattended run: no news/update pop-up, every cell kept in the DOM."""
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
            {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for rel, content in files.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """A JupyterLab server serving a temporary copy of the notebooks: yields (base URL, token, root)."""
    _require_browser()
    source = Path(NOTEBOOK) if Path(NOTEBOOK).is_absolute() else REPO / NOTEBOOK
    if not source.exists():
        pytest.fail(f"{source} does not exist: the browser test opens that notebook")
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    (root / "notebooks").mkdir(parents=True)
    nb = json.loads(source.read_text())
    # Notebooks are committed stripped; without a kernelspec JupyterLab would ask which kernel to start.
    nb.setdefault("metadata", {}).setdefault(
        "kernelspec", {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"})
    (root / "notebooks" / source.name).write_text(json.dumps(nb))
    if source.parent == REPO / "notebooks":  # the notebooks may read files beside them
        for extra in source.parent.iterdir():
            if extra.is_file() and extra.suffix != ".ipynb":
                shutil.copy(extra, root / "notebooks" / extra.name)
    _write_settings(tmp / "settings")
    port, token = _free_port(), uuid.uuid4().hex
    env = dict(os.environ, POSEKIT_PROFILE="smoke", JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    log = open(tmp / "jupyterlab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
         "--ServerApp.allow_root=True",
         f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.flush()
                pytest.fail(f"JupyterLab did not start:\n{(tmp / 'jupyterlab.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, token, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp / "jupyterlab.log", ARTIFACTS / "jupyterlab.log")


def _image(png: bytes) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def _centre(img: np.ndarray, frac: float = 0.5) -> np.ndarray:
    """The central `frac` of an image (the 3D scene; legend, slider and colour bar lie outside it)."""
    h, w = img.shape[:2]
    dh, dw = int(h * (1 - frac) / 2), int(w * (1 - frac) / 2)
    return img[dh:h - dh, dw:w - dw]


def _accept_kernel_dialog(page):
    """Accept a 'Select Kernel' dialog (default: the notebook's or the first kernel) if one opens."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    dialog = page.locator(".jp-Dialog")
    try:
        dialog.first.wait_for(state="visible", timeout=5_000)
    except PlaywrightTimeout:  # no dialog: the kernel starts by itself
        return
    dialog.locator(".jp-Dialog-button.jp-mod-accept").first.click()
    dialog.first.wait_for(state="hidden", timeout=10_000)


def _run_all(page):
    """Run > Run All Cells from JupyterLab's menu bar."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    item = page.locator(".lm-Menu-item", has=page.locator(".lm-Menu-itemLabel",
                                                        has_text=re.compile(r"^Run All Cells$")))
    item.first.wait_for(state="visible", timeout=10_000)
    item.first.click()


_STATE_JS = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
        .map(p => p.textContent.trim());
    const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
    return {busy: prompts.filter(p => p.includes('*')).length,
            executed: prompts.filter(p => /\\[\\d+\\]/.test(p)).length,
            total: prompts.length,
            kernel: status ? (status.getAttribute('data-status') || '') : ''};
}"""


def _run_all_and_wait(page, timeout_s: float) -> dict:
    """Run All Cells, then wait until no cell is queued or running and the kernel is idle.

    Right after the kernel first reports idle, JupyterLab sometimes drops a Run All without running anything;
    the command is repeated (up to three times) until a cell is queued or has run.
    """
    for attempt in range(3):
        _run_all(page)
        deadline = time.time() + 20
        state = page.evaluate(_STATE_JS)
        while not (state["busy"] or state["executed"]) and time.time() < deadline:
            page.wait_for_timeout(500)
            state = page.evaluate(_STATE_JS)
        if state["busy"] or state["executed"]:
            break
    else:
        raise AssertionError(f"Run > Run All Cells started no cell (3 tries): {state}")
    deadline = time.time() + timeout_s
    quiet_since = None
    while time.time() < deadline:
        state = page.evaluate(_STATE_JS)
        idle = state["busy"] == 0 and state["kernel"] == "idle"
        quiet_since = (quiet_since or time.time()) if idle else None
        if quiet_since and time.time() - quiet_since > 3:
            return state
        page.wait_for_timeout(1000)
    raise AssertionError(f"the notebook was still running after {timeout_s:.0f} s: {state}")


def _saved_notebook(page, path: Path) -> dict:
    """Save the notebook from JupyterLab (Ctrl+S) and read it back from the temporary root."""
    before = path.stat().st_mtime_ns
    page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    deadline = time.time() + 60
    while time.time() < deadline:
        if path.stat().st_mtime_ns != before:
            try:  # the server may still be writing a large notebook
                return json.loads(path.read_text())
            except json.JSONDecodeError:
                pass
        time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not save {path.name} within 60 s of Ctrl+S")


def test_tour_viewer_renders_and_reacts(jupyterlab):
    from playwright.sync_api import sync_playwright

    base, token, root = jupyterlab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = Path(NOTEBOOK).name
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        console = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        try:
            page.goto(f"{base}/lab/tree/notebooks/{name}?reset&token={token}", timeout=120_000)
            page.locator(".jp-Notebook").first.wait_for(state="visible", timeout=120_000)
            _accept_kernel_dialog(page)
            # The kernel must be up before Run All, else the cells queue behind "Kernel starting".
            page.wait_for_function("""() => {
                const s = document.querySelector('.jp-Notebook-ExecutionIndicator');
                return s && s.getAttribute('data-status') === 'idle';
            }""", timeout=120_000)
            state = _run_all_and_wait(page, RUN_TIMEOUT_S)
            page.screenshot(path=str(ARTIFACTS / "after_run_all.png"))

            nb = _saved_notebook(page, root / "notebooks" / name)
            code = [c for c in nb["cells"] if c["cell_type"] == "code"]
            for i, cell in enumerate(code):
                for out in cell.get("outputs", []):
                    if out.get("output_type") == "error":
                        pytest.fail(f"code cell {i + 1} raised in JupyterLab: {out['ename']}: {out['evalue']}\n"
                                    f"{''.join(cell['source'])[:500]}")
            not_run = [i + 1 for i, c in enumerate(code)
                       if c.get("execution_count") is None and "".join(c["source"]).strip()]
            assert not not_run, f"code cells {not_run} did not run ({state})"
            body = page.locator("body").inner_text()
            for msg in WIDGET_ERRORS:
                assert msg not in body, f"widget error in the notebook: {msg!r}"

            viewer = page.locator(".js-plotly-plot:has(.gl-container):has(.slider-container)").first
            viewer.wait_for(state="attached", timeout=30_000)
            viewer.scroll_into_view_if_needed()
            page.wait_for_timeout(1500)
            scene = viewer.locator(".gl-container canvas").first  # the WebGL canvas (plot area size)
            shot_before = scene.screenshot(path=str(ARTIFACTS / "viewer_before.png"))
            viewer.screenshot(path=str(ARTIFACTS / "viewer_full_before.png"))
            before = _centre(_image(shot_before))
            colours = len(np.unique(before.reshape(-1, 3), axis=0))
            assert before.std() > 3 and colours > 20, (
                f"the 3D scene looks blank (std {before.std():.1f}, {colours} colours): see "
                f"{ARTIFACTS / 'viewer_before.png'}; console: {console[-10:]}")

            label = viewer.locator(".slider-group > text.slider-label").first  # "frame N" above the rail
            label_before = label.text_content()
            rail = viewer.locator(".slider-rail-rect").first.bounding_box()
            page.mouse.click(rail["x"] + rail["width"] * 0.6, rail["y"] + rail["height"] / 2)
            page.wait_for_function("([el, old]) => el.textContent !== old", arg=[label.element_handle(),
                                                                                  label_before], timeout=15_000)
            page.wait_for_timeout(1500)
            shot_after = scene.screenshot(path=str(ARTIFACTS / "viewer_after.png"))
            viewer.screenshot(path=str(ARTIFACTS / "viewer_full_after.png"))
            after = _centre(_image(shot_after))
            changed = float((np.abs(after - before).sum(axis=-1) > 30).mean())
            assert changed > 0.001, (
                f"moving the slider ({label_before!r} -> {label.text_content()!r}) did not change the 3D scene "
                f"({changed:.4%} of pixels changed)")
            widgets = page.locator(".jp-OutputArea-child:has(.jupyter-widgets)")
            if widgets.count():  # e.g. the explorer: drawn, then its figure arrives; kept as a screenshot
                widgets.last.scroll_into_view_if_needed()
                page.wait_for_timeout(5000)
                page.screenshot(path=str(ARTIFACTS / "widgets.png"))
            body = page.locator("body").inner_text()
            for msg in WIDGET_ERRORS:
                assert msg not in body, f"widget error in the notebook: {msg!r}"
        finally:
            page.screenshot(path=str(ARTIFACTS / "final.png"), full_page=False)
            (ARTIFACTS / "console.log").write_text("\n".join(console))
            browser.close()
