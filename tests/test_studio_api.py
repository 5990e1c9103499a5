"""The studio's HTTP API through FastAPI's TestClient: every call, its error paths, and the
guards that keep it local (Host, token, same origin, paths inside the renders folder)."""

import json
import os
import time
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the studio extra is not installed: pip install -e '.[studio]'")
with warnings.catch_warnings():  # starlette's TestClient would rather have httpx2; httpx works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from zoomdream.frontends.cli import main  # noqa: E402
from zoomdream.frontends.studio import build  # noqa: E402

BASE = "http://127.0.0.1:8188"
SAME = {"Origin": BASE}
TINY = """name: tiny
size: [64, 48]
frames: 3
fps: 12
model: {name: efficientnet_lite0}
dream: {steps: 1, octaves: 1}
output: {frames: {bit_depth: 8}}
"""
ACTIVE = ("queued", "rendering", "stopping", "measuring")


def recipe(name="tiny", frames=3, extra=""):
    return TINY.replace("name: tiny", f"name: {name}").replace("frames: 3", f"frames: {frames}") + extra


def wait(client, rid, until, timeout=180):
    end = time.time() + timeout
    while time.time() < end:
        data = client.get(f"/api/renders/{rid}").json()
        if until(data):
            return data
        time.sleep(0.1)
    raise AssertionError(f"{rid}: still {data['state']} after {timeout} s")


def settled(data):
    return data["state"] not in ACTIVE


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio")
    (root / "renders").mkdir()
    return root


@pytest.fixture(scope="module")
def studio(project):
    app, token = build(project / "renders")
    with TestClient(app, base_url=BASE) as client:
        client.token = token
        yield client


@pytest.fixture(scope="module")
def finished(studio):
    """One tiny render made through the API, finished and measured."""
    response = studio.post("/api/renders", content=recipe(), headers=SAME)
    assert response.status_code == 202, response.text
    assert response.json()["id"] == "tiny"
    data = wait(studio, "tiny", settled)
    assert data["state"] == "finished", data
    return data


# -- the calls --------------------------------------------------------------------------------
def test_list_shows_a_finished_render_with_its_figures(studio, finished):
    rows = studio.get("/api/renders").json()["renders"]
    row = next(r for r in rows if r["id"] == "tiny")
    assert row["state"] == "finished" and row["done"] == row["total"] == 3
    assert row["size"] == [64, 48] and row["length"] == 0.25 and row["device"] == "cpu"
    assert row["seconds_per_frame"] > 0
    thumb = studio.get(row["thumb"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"


def test_detail_has_video_sheet_verdicts_and_recipe(studio, finished):
    lane = finished["lanes"][0]
    assert {v["curve"] for v in lane["verdicts"]} >= {"luma", "saturation", "boil"}
    assert len(lane["curves"]["luma"]) == 3
    video = studio.get(lane["video"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4" and len(video.content) > 1000
    assert studio.get(lane["sheet"]).status_code == 200
    assert "name: tiny" in finished["recipe"]
    assert finished["record"]["frames"] == 3 and "fingerprint" not in finished["record"]


def test_look_measures_a_finished_render_again(studio, finished, project):
    (project / "renders" / "tiny" / "look.json").unlink()
    response = studio.post("/api/renders/tiny/look", headers=SAME)
    assert response.status_code == 200 and response.json()["lines"][0].startswith("tiny: 3 frames")
    assert (project / "renders" / "tiny" / "look.json").exists()
    assert studio.post("/api/renders/nope/look", headers=SAME).status_code == 404


def test_recipe_comes_back_editable_and_checks(studio, finished):
    text = studio.get("/api/renders/tiny/recipe").text
    assert "dir:" not in text and "size: [64, 48]" in text
    checked = studio.post("/api/check", content=text, headers=SAME)
    assert checked.status_code == 200 and checked.json()["summary"].startswith("ok — 3 frames at 64x48")


def test_check_takes_json_too(studio):
    body = {"name": "j", "size": [64, 48], "frames": 2, "model": {"name": "efficientnet_lite0"}}
    response = studio.post("/api/check", content=json.dumps(body), headers={**SAME, "Content-Type": "application/json"})
    assert response.status_code == 200 and response.json()["frames"] == 2


def test_schema_gives_the_field_reference(studio):
    data = studio.get("/api/schema").json()
    fields = {row["key"]: row for row in data["fields"]}
    assert "scale per frame" in fields["motion.zoom"]["description"]
    assert "dream.objective.0.layer" in fields
    assert data["json_schema"]["properties"]["motion"]
    assert studio.get("/openapi.json").json()["paths"]["/api/renders"]


def test_events_of_a_finished_render_end(studio, finished):
    with studio.stream("GET", "/api/renders/tiny/events") as stream:
        lines = [line for line in stream.iter_lines() if line.startswith(("data:", "event:"))]
    assert json.loads(lines[0][5:])["state"] == "finished" and lines[-2] == "event: end"


def test_preview_of_a_render(studio, finished):
    response = studio.post("/api/renders/tiny/preview", headers=SAME)
    assert response.status_code == 202 and response.json()["id"] == "tiny/preview"
    data = wait(studio, "tiny/preview", settled)
    assert data["state"] == "finished" and data["parent_id"] == "tiny" and data["size"] == [32, 32]
    assert data["lanes"][0]["video"].startswith("/files/tiny/preview/")
    assert studio.get("/api/renders/tiny").json()["preview_id"] == "tiny/preview"


@pytest.mark.slow
def test_live_events_queue_stop_and_resume_after_a_restart(project):
    """A render streams its frames; a second waits in the queue; stop keeps a playable video; a
    new studio on the same folder shows it interrupted and resumes it."""
    app, token = build(project / "renders")
    with TestClient(app, base_url=BASE) as client:
        assert client.post("/api/renders", content=recipe("long", 40), headers=SAME).status_code == 202
        waiting = client.post("/api/renders", content=recipe("after", 2), headers=SAME).json()
        assert waiting["state"] == "queued" and waiting["queue"] == 0
        assert [j["id"] for j in client.get("/api/queue").json()["jobs"]] == ["long", "after"]
        frames = []
        with client.stream("GET", "/api/renders/long/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("data:") and "frame_index" in line:
                    message = json.loads(line[5:])
                    assert message["frame"].startswith("data:image/jpeg;base64,") and message["look"]
                    frames.append(message["frame_index"])
                if len(frames) == 2:
                    break
        assert frames == sorted(frames) and frames[1] > frames[0]
        live = client.get("/api/renders/long/live.jpg")
        assert live.status_code == 200 and live.content[:2] == b"\xff\xd8" and int(live.headers["x-frame"]) >= frames[1]
        stopped = client.post("/api/renders/long/stop", headers={"X-Zoomdream-Token": token})
        assert stopped.status_code == 200 and stopped.json()["state"] in ("stopping", "interrupted")
        cancelled = client.post("/api/renders/after/stop", headers=SAME).json()
        assert cancelled["state"] == "cancelled"
        data = wait(client, "long", settled)
        assert data["state"] == "interrupted" and 0 < data["done"] < 40
        assert client.get(data["lanes"][0]["video"]).status_code == 200  # the video so far plays
    app, token = build(project / "renders")  # the studio restarted: the folder still knows
    with TestClient(app, base_url=BASE) as client:
        row = next(r for r in client.get("/api/renders").json()["renders"] if r["id"] == "long")
        assert row["state"] == "interrupted" and row["done"] == data["done"]
        assert client.post("/api/renders/long/resume", headers=SAME).status_code == 202
        assert wait(client, "long", settled)["state"] == "finished"


def test_a_render_by_another_process_shows_its_progress_and_cannot_be_stopped_here(studio, finished, project):
    import fcntl
    import shutil

    other = project / "renders" / "terminal"
    other.mkdir()
    shutil.copy(project / "renders" / "tiny" / "config.yaml", other / "config.yaml")
    (other / "state").mkdir()
    (other / "state" / "progress.json").write_text('{"done": 4, "total": 10, "seconds": 8.0}')
    lock = os.open(other / ".zoomdream.lock", os.O_RDWR | os.O_CREAT)  # what `zoomdream render` holds while it runs
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        row = next(r for r in studio.get("/api/renders").json()["renders"] if r["id"] == "terminal")
        assert row["state"] == "rendering" and row["done"] == 4 and row["total"] == 10 and row["eta"] == 12.0
        for action in ("stop", "resume"):
            response = studio.post(f"/api/renders/terminal/{action}", headers=SAME)
            assert response.status_code == 409 and "another process" in response.json()["error"]
    finally:
        os.close(lock)
        shutil.rmtree(other)


# -- error paths -------------------------------------------------------------------------------
def test_bad_key_is_400_with_the_line_and_key(studio):
    text = recipe(extra="motion: {zom: 1.01}\n")
    for url in ("/api/check", "/api/renders"):
        response = studio.post(url, content=text, headers=SAME)
        assert response.status_code == 400
        assert response.json() == {"error": "motion.zom: unknown key; did you mean 'zoom'?", "key": "motion.zom", "line": 8}


def test_bad_value_and_bad_yaml_are_one_line_400s(studio):
    bad = studio.post("/api/check", content=recipe().replace("fps: 12", "fps: 0"), headers=SAME).json()
    assert bad["key"] == "fps" and bad["line"] == 4 and bad["error"].startswith("fps: ")
    broken = studio.post("/api/check", content="name: x\nsize: [64, 48\n", headers=SAME).json()
    assert broken["error"].startswith("recipe line ") and "\n" not in broken["error"] and broken["line"] >= 2
    listed = studio.post("/api/check", content="- 1\n- 2\n", headers=SAME)
    assert listed.status_code == 400 and "mapping" in listed.json()["error"]


def test_an_existing_name_is_409_unless_overwritten(studio, finished):
    response = studio.post("/api/renders", content=recipe(), headers=SAME)
    assert response.status_code == 409 and "overwrite" in response.json()["error"]


def test_unknown_render_is_404(studio):
    for method, url in [("GET", "/api/renders/nope"), ("POST", "/api/renders/nope/stop"), ("POST", "/api/renders/nope/resume"),
                        ("POST", "/api/renders/nope/preview"), ("GET", "/api/renders/nope/events"),
                        ("GET", "/api/renders/nope/thumb.jpg"), ("GET", "/api/renders/nope/live.jpg"),
                        ("GET", "/api/renders/nope/recipe"), ("GET", "/files/nope/nope.mp4")]:  # fmt: skip
        response = studio.request(method, url, headers=SAME)
        assert response.status_code == 404, (url, response.text)
        assert "nope" in response.json()["error"]


def test_stopping_or_resuming_a_finished_render_is_409(studio, finished):
    stop = studio.post("/api/renders/tiny/stop", headers=SAME)
    assert stop.status_code == 409 and stop.json()["error"] == "tiny is not rendering (finished); nothing to stop"
    resume = studio.post("/api/renders/tiny/resume", headers=SAME)
    assert resume.status_code == 409 and "only an interrupted render" in resume.json()["error"]


# -- safe by default ---------------------------------------------------------------------------
def test_path_traversal_is_refused(studio, finished, project):
    (project / "secret.txt").write_text("secret")
    for url in ["/files/..%2Fsecret.txt", "/files/%2e%2e/secret.txt", "/files/tiny/..%2F..%2Fsecret.txt", "/files/%2Fetc%2Fpasswd",
                "/files/tiny/.zoomdream.lock", "/api/renders/..%2F..", "/api/renders/%2Ftmp", "/files/tiny%5C..%5C..%5Csecret.txt"]:
        response = studio.get(url)
        assert response.status_code in (403, 404), url
        assert "secret" not in response.text.replace("secret.txt", "")


def test_symlinks_out_of_the_renders_folder_are_refused(studio, finished, project, tmp_path):
    (tmp_path / "outside.txt").write_text("outside")
    (tmp_path / "render").mkdir()
    (tmp_path / "render" / "config.yaml").write_text("name: render\n")
    renders = project / "renders"
    os.symlink(tmp_path / "outside.txt", renders / "tiny" / "link.txt")
    os.symlink(tmp_path / "render", renders / "elsewhere")
    (renders / "linked").mkdir()
    os.symlink(tmp_path / "render" / "config.yaml", renders / "linked" / "config.yaml")
    try:
        assert studio.get("/files/tiny/link.txt").status_code == 403
        for rid in ("elsewhere", "linked"):
            for url in (f"/api/renders/{rid}", f"/api/renders/{rid}/recipe", f"/api/renders/{rid}/thumb.jpg"):
                assert studio.get(url).status_code == 403, url
        ids = [r["id"] for r in studio.get("/api/renders").json()["renders"]]
        assert "elsewhere" not in ids and "linked" not in ids
        (renders / "tiny" / "inside.txt").symlink_to(renders / "tiny" / "config.yaml")
        assert studio.get("/files/tiny/inside.txt").status_code == 200  # a link that stays inside is fine
    finally:
        for link in (renders / "tiny" / "link.txt", renders / "elsewhere", renders / "tiny" / "inside.txt", renders / "linked" / "config.yaml"):
            link.unlink(missing_ok=True)
        (renders / "linked").rmdir()


def test_recipe_files_must_lie_inside_the_project(studio, project, tmp_path):
    from PIL import Image

    Image.new("RGB", (64, 48), "purple").save(project / "start.png")
    Image.new("RGB", (64, 48), "green").save(tmp_path / "away.png")
    (project / "sneaky.png").symlink_to(tmp_path / "away.png")
    for inside in ("start.png", str(project / "start.png")):
        ok = studio.post("/api/check", content=recipe(extra=f"start: {{image: '{inside}'}}\n"), headers=SAME)
        assert ok.status_code == 200, ok.text
    for value, words in [("../away.png", "leads outside the folders"), (str(tmp_path / "away.png"), "leads outside the folders"),
                         ("sneaky.png", "leads outside the folders"), ("missing.png", "no such file"), ("~/x.png", "relative")]:  # fmt: skip
        response = studio.post("/api/renders", content=recipe(extra=f"start: {{image: '{value}'}}\n"), headers=SAME)
        assert response.status_code == 400 and response.json()["key"] == "start.image", response.text
        assert words in response.json()["error"] and response.json()["line"] == 8


def test_allow_adds_a_folder_recipes_may_read(project, tmp_path):
    from PIL import Image

    Image.new("RGB", (64, 48), "green").save(tmp_path / "footage.png")
    text = recipe(extra=f"start: {{image: '{tmp_path / 'footage.png'}'}}\n")
    for allow, status in (([], 400), ([tmp_path], 200)):
        app, _ = build(project / "renders", allow=allow)
        with TestClient(app, base_url=BASE) as client:
            assert client.post("/api/check", content=text, headers=SAME).status_code == status


def test_output_dir_is_forced_into_the_renders_folder(studio, project, tmp_path):
    text = recipe("forced", 1, f"output: {{dir: {tmp_path / 'evil'}}}\n").replace("output: {frames: {bit_depth: 8}}\n", "")
    response = studio.post("/api/renders", content=text, headers=SAME)
    assert response.status_code == 202 and response.json()["id"] == "forced"
    assert wait(studio, "forced", settled)["state"] == "finished"
    assert (project / "renders" / "forced" / "forced.mp4").exists() and not (tmp_path / "evil").exists()


def test_cross_origin_post_is_refused(studio):
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "http://127.0.0.1:9999"}, {"Origin": "null"},
                    {"Sec-Fetch-Site": "cross-site"}, {}, {"X-Zoomdream-Token": "wrong"}):  # fmt: skip
        response = studio.post("/api/renders", content=recipe("cross"), headers=headers)
        assert response.status_code == 403, headers
        assert "cross-site request refused" in response.json()["error"]
    assert studio.post("/api/check", content=recipe(), headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert studio.post("/api/check", content=recipe(), headers={"X-Zoomdream-Token": studio.token}).status_code == 200
    assert "cross" not in [r["id"] for r in studio.get("/api/renders").json()["renders"]]


def test_a_foreign_host_header_is_refused(studio):
    for host in ("evil.example", "evil.example:8188", "127.0.0.1.nip.io", "192.168.1.5:8188"):
        response = studio.get("/api/renders", headers={"Host": host})
        assert response.status_code == 421 and "is not this studio" in response.json()["error"], host
    assert studio.get("/api/renders", headers={"Host": "localhost:8188"}).status_code == 200


def test_a_non_local_bind_needs_the_token(project):
    app, token = build(project / "renders", host="0.0.0.0")
    with TestClient(app, base_url="http://192.0.2.7:8188") as client:
        for url in ("/", "/api/renders", "/static/app.js", "/files/tiny/config.yaml"):
            assert client.get(url).status_code == 401, url
        assert client.get("/api/renders", headers={"X-Zoomdream-Token": "wrong"}).status_code == 401
        assert client.get("/api/renders", headers={"X-Zoomdream-Token": token}).status_code == 200
        page = client.get(f"/?token={token}")
        assert page.status_code == 200 and "zoomdream_token" in page.headers["set-cookie"] and "HttpOnly" in page.headers["set-cookie"]
        assert client.get("/api/renders").status_code == 200  # the cookie from the link
        assert client.post("/api/check", content=recipe(), headers={"Origin": "http://evil.example"}).status_code == 403


def test_the_page_is_served_from_the_package_without_a_cdn(studio):
    page = studio.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"] and page.headers["x-frame-options"] == "DENY"
    assert studio.get("/docs").status_code == 404  # Swagger UI would come from a CDN; /openapi.json is served
    static = Path(__import__("zoomdream.frontends.studio", fromlist=["x"]).__file__).parent / "static"
    for name in ("index.html", "app.js", "style.css"):
        text = studio.get(f"/static/{name}").text
        assert text == (static / name).read_text()
        assert "://" not in text.replace("http://www.w3.org", ""), name


def test_cli_studio_refuses_a_busy_port(capsys, tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code = main(["studio", "--dir", str(tmp_path / "renders"), "--port", str(busy.getsockname()[1])])
    assert code == 2 and "cannot listen on 127.0.0.1" in capsys.readouterr().err
