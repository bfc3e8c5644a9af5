"""WaveSpeed's protocol through plain HTTP, in process on a fake clock."""

from __future__ import annotations

import time

import httpx

from tests.emulator.conftest import LATENCY, WAVESPEED, FakeClock, Receiver, sha256
from wanplan.emulator import Delivery, Emulator

SUBMIT = WAVESPEED.submit_path


def test_prediction_moves_created_processing_completed(
    client: httpx.Client, clock: FakeClock, emulator: Emulator
) -> None:
    answer = client.post(SUBMIT, json={"prompt": "a fox", "duration": 10, "size": "720*1280"})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["code"], body["message"]) == (200, "success")
    data = body["data"]
    assert data["status"] == "created" and data["outputs"] == [] and data["error"] == ""
    assert data["model"] == "alibaba/wan-2.5/text-to-video"
    assert data["urls"]["get"] == f"http://127.0.0.1/api/v3/predictions/{data['id']}/result"
    assert set(data) >= {"has_nsfw_contents", "created_at", "timings"}
    clock.advance(LATENCY / 2)
    assert client.get(f"/api/v3/predictions/{data['id']}/result").json()["data"]["status"] == (
        "processing"
    )
    clock.advance(LATENCY)
    for path in (f"/api/v3/predictions/{data['id']}/result", f"/api/v3/predictions/{data['id']}"):
        done = client.get(path).json()["data"]
        assert done["status"] == "completed"
        assert done["timings"]["inference"] == LATENCY * 1000
    (url,) = done["outputs"]
    file = client.get(url)
    assert file.headers["content-type"] == "image/gif"
    record = emulator.results[data["id"]]
    assert sha256(file.content) == record.sha256 and record.size == len(file.content)
    assert emulator.task(data["id"]).media.seconds == 10
    assert emulator.task(data["id"]).media.aspect_ratio == "9:16"


def test_failed_prediction_is_http_200_with_error(client: httpx.Client, clock: FakeClock) -> None:
    task_id = WAVESPEED.submit(client, "a fox [fail]")
    clock.advance(LATENCY)
    answer = WAVESPEED.poll(client, task_id)
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert data["status"] == "failed" and data["error"] and data["outputs"] == []
    coded = WAVESPEED.submit(client, "a fox [fail:NSFW_CONTENT]")
    clock.advance(LATENCY)
    assert WAVESPEED.poll(client, coded).json()["data"]["error"].startswith("NSFW_CONTENT")


def test_unknown_prediction_model_and_missing_inputs(client: httpx.Client) -> None:
    gone = client.get("/api/v3/predictions/0123/result")
    assert gone.status_code == 404 and gone.json()["code"] == 404
    model = client.post("/api/v3/someone/else/model", json={"prompt": "x"})
    assert model.status_code == 404 and "Model not found" in model.json()["message"]
    no_prompt = client.post(SUBMIT, json={"duration": 5})
    assert no_prompt.status_code == 400 and no_prompt.json()["message"] == "prompt is required"
    no_image = client.post("/api/v3/alibaba/wan-2.5/image-to-video", json={"prompt": "x"})
    assert no_image.status_code == 400 and no_image.json()["message"] == "image is required"
    not_json = client.post(SUBMIT, content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["data"] is None


def test_upload_ticket_put_and_download(client: httpx.Client) -> None:
    ticket = client.post(
        "/api/v3/media/uploads",
        json={"filename": "hero.png", "size": 4, "content_type": "image/png"},
    ).json()["data"]
    upload = ticket["upload"]
    assert upload["method"] == "PUT" and upload["headers"] == {"Content-Type": "image/png"}
    assert client.get(ticket["download_url"]).status_code == 404  # nothing PUT yet
    forged = client.put(ticket["download_url"] + "?token=forged", content=b"evil")
    assert forged.status_code == 403 and b"SignatureDoesNotMatch" in forged.content
    assert client.put(upload["url"], content=b"\x89PNG", headers=upload["headers"]).is_success
    stored = client.get(ticket["download_url"])
    assert stored.content == b"\x89PNG" and stored.headers["content-type"] == "image/png"


def test_legacy_binary_upload(client: httpx.Client) -> None:
    answer = client.post(
        "/api/v3/media/upload/binary", files={"file": ("a.png", b"\x00\r\n\x01", "image/png")}
    )
    data = answer.json()["data"]
    assert answer.status_code == 200 and data["type"] == "image" and data["size"] == 4
    assert client.get(data["download_url"]).content == b"\x00\r\n\x01"
    missing = client.post("/api/v3/media/upload/binary", files={"other": ("a", b"x")})
    assert missing.status_code == 400


def test_price_quote_balance_and_models(client: httpx.Client) -> None:
    quote = client.post(
        "/api/v3/model/price",
        json={
            "model_id": "alibaba/wan-2.6/text-to-video",
            "inputs": {"size": "1920*1080", "duration": 10},
        },
    ).json()["data"]
    assert quote["currency"] == "USD" and quote["price"] == 1.5
    assert client.get("/api/v3/balance").json()["data"]["balance"] > 0
    models = [m["model_id"] for m in client.get("/api/v3/models").json()["data"]]
    assert "alibaba/wan-2.5/image-to-video" in models


def test_a_failing_price_quote_answers_its_knobs_status(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.set_knobs(price_quote_status=503)
    body = {"model_id": "alibaba/wan-2.6/text-to-video", "inputs": {"duration": 5}}
    answer = client.post("/api/v3/model/price", json=body)
    assert answer.status_code == 503 and answer.json()["data"] is None
    assert client.post(SUBMIT, json={"prompt": "x"}).status_code == 200  # submits still work
    emulator.set_knobs(price_quote_status=200)
    assert client.post("/api/v3/model/price", json=body).json()["data"]["price"] == 0.5


def test_sync_mode_answers_the_finished_prediction(client: httpx.Client) -> None:
    data = client.post(SUBMIT, json={"prompt": "x", "enable_sync_mode": True}).json()["data"]
    assert data["status"] == "completed" and len(data["outputs"]) == 1


def test_webhook_gets_the_bare_prediction(live: tuple[Emulator, str], receiver: Receiver) -> None:
    emulator, base_url = live
    answer = httpx.post(
        f"{base_url}{SUBMIT}",
        params={"webhook": receiver.url},
        json={"prompt": "x"},
        headers={"Authorization": "Bearer k"},
    )
    task_id = answer.json()["data"]["id"]
    (payload,) = receiver.wait()
    assert payload["id"] == task_id and payload["status"] == "completed"
    assert "code" not in payload  # the bare prediction, no envelope
    (delivery,) = recorded_deliveries(emulator)
    assert delivery.delivered and delivery.url == receiver.url


def recorded_deliveries(emulator: Emulator, timeout: float = 10.0) -> list[Delivery]:
    """The emulator records a delivery just after the receiver got it: wait for the record."""
    deadline = time.monotonic() + timeout
    while not emulator.callbacks and time.monotonic() < deadline:
        time.sleep(0.01)
    return emulator.callbacks


def test_what_the_docs_do_not_allow_is_refused_with_400(client: httpx.Client) -> None:
    # PROVIDERS.md §4b: Wan 2.5 text-to-video has no square size; 2.7 reference-to-video takes
    # `videos` and one optional `image`, no `size` and no `images`.
    square = client.post(SUBMIT, json={"prompt": "a fox", "size": "960*960"})
    assert square.status_code == 400 and "size must be one of" in square.json()["message"]
    r2v = "/api/v3/alibaba/wan-2.7/reference-to-video"
    video = "https://example.com/ref.mp4"
    sized = client.post(r2v, json={"prompt": "x", "videos": [video], "size": "1280*720"})
    assert sized.status_code == 400 and "size" in sized.json()["message"]
    images = client.post(r2v, json={"prompt": "x", "videos": [video], "images": [video]})
    assert images.status_code == 400 and "images" in images.json()["message"]
    assert client.post(r2v, json={"prompt": "x"}).status_code == 400  # videos required
    fine = client.post(r2v, json={"prompt": "x", "videos": [video], "image": video})
    assert fine.status_code == 200
    # Every other model keeps to its mode's documented inputs (PROVIDERS.md §1).
    ratio = client.post(SUBMIT, json={"prompt": "a fox", "aspect_ratio": "16:9"})
    assert ratio.status_code == 400 and "aspect_ratio" in ratio.json()["message"]
    i2v = "/api/v3/alibaba/wan-2.6/image-to-video"
    assert client.post(i2v, json={"prompt": "x", "image": video, "video": video}).status_code == 400


def test_the_wan_25_image_edit_takes_one_or_two_images(client: httpx.Client) -> None:
    # wan-2.5/image-edit llms.txt: `images` (1–2 URLs, required), no `image` or `resolution`.
    edit = "/api/v3/alibaba/wan-2.5/image-edit"
    photo = "https://example.com/photo.png"
    for body in (
        {"prompt": "x"},
        {"prompt": "x", "images": [photo] * 3},
        {"prompt": "x", "images": [photo], "resolution": "1080p"},
        {"prompt": "x", "image": photo},
    ):
        assert client.post(edit, json=body).status_code == 400, body
    fine = client.post(edit, json={"prompt": "x", "images": [photo, photo], "seed": -1})
    assert fine.status_code == 200
