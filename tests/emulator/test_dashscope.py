"""DashScope's protocol through plain HTTP, in process on a fake clock."""

from __future__ import annotations

import base64
import io
import wave

import httpx

from tests.emulator.conftest import DASHSCOPE, LATENCY, FakeClock, error_code, sha256
from wanplan.emulator import Emulator
from wanplan.providers.sim import media

CREATE = DASHSCOPE.submit_path
ASYNC = {"X-DashScope-Async": "enable"}


def create(client: httpx.Client, body: dict, **headers: str) -> httpx.Response:
    return client.post(CREATE, json=body, headers={**ASYNC, **headers})


def test_task_moves_pending_running_succeeded(
    client: httpx.Client, clock: FakeClock, emulator: Emulator
) -> None:
    answer = create(
        client,
        {
            "model": "wan2.7-t2v",
            "input": {"prompt": "a heron", "extend_prompt": True, "function": "video-synthesis"},
            "parameters": {"resolution": "1080P", "ratio": "1:1", "duration": 3},
        },
    )
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"request_id", "output"}
    assert body["output"]["task_status"] == "PENDING"
    task_id = body["output"]["task_id"]
    assert DASHSCOPE.poll(client, task_id).json()["output"]["task_status"] == "PENDING"
    clock.advance(LATENCY / 2)
    running = DASHSCOPE.poll(client, task_id).json()["output"]
    assert running["task_status"] == "RUNNING" and "scheduled_time" in running
    assert "video_url" not in running and "end_time" not in running
    clock.advance(LATENCY)
    done = DASHSCOPE.poll(client, task_id).json()
    output = done["output"]
    assert output["task_status"] == "SUCCEEDED" and output["task_id"] == task_id
    assert {"submit_time", "end_time", "video_url", "request_id"} <= set(output) | set(done)
    assert done["usage"] == {"video_duration": 3, "video_count": 1, "SR": 1080}
    file = client.get(output["video_url"])
    assert sha256(file.content) == emulator.results[task_id].sha256
    assert emulator.task(task_id).media.aspect_ratio == "1:1"


def test_failed_task_carries_code_and_message(client: httpx.Client, clock: FakeClock) -> None:
    flagged = DASHSCOPE.submit(client, "a heron [fail]")
    chosen = DASHSCOPE.submit(client, "a heron [fail:InternalError.Timeout]")
    no_prompt = create(client, {"model": "wan2.5-t2v-preview", "input": {}}).json()
    clock.advance(LATENCY)
    output = DASHSCOPE.poll(client, flagged).json()["output"]
    assert output["task_status"] == "FAILED"
    assert output["code"] == "DataInspectionFailed" and output["message"]
    assert DASHSCOPE.poll(client, chosen).json()["output"]["code"] == "InternalError.Timeout"
    missing = DASHSCOPE.poll(client, no_prompt["output"]["task_id"]).json()["output"]
    assert (missing["task_status"], missing["code"]) == ("FAILED", "InvalidParameter")


def test_unknown_task_is_unknown_with_http_200(client: httpx.Client) -> None:
    answer = DASHSCOPE.poll(client, "no-such-task")
    assert answer.status_code == 200
    assert answer.json()["output"] == {"task_id": "no-such-task", "task_status": "UNKNOWN"}
    assert "request_id" in answer.json()


def test_create_needs_the_async_header_and_a_known_model(client: httpx.Client) -> None:
    body = DASHSCOPE.body("x")
    sync = client.post(CREATE, json=body)
    assert sync.status_code == 403 and error_code(DASHSCOPE, sync) == "AccessDenied"
    unknown = create(client, {**body, "model": "wan9-t2v"})
    assert unknown.status_code == 400 and unknown.json()["message"] == "Model not exist."
    kf2v_on_wrong_path = create(client, {**body, "model": "wan2.1-kf2v-plus"})
    assert kf2v_on_wrong_path.status_code == 400
    kf2v = client.post(
        "/api/v1/services/aigc/image2video/video-synthesis",
        json={
            "model": "wan2.1-kf2v-plus",
            "input": {
                "first_frame_url": "https://example.com/a.png",
                "last_frame_url": "https://example.com/b.png",
            },
        },
        headers=ASYNC,
    )
    assert kf2v.status_code == 200


def test_cancel_only_while_pending(client: httpx.Client, clock: FakeClock) -> None:
    pending = DASHSCOPE.submit(client)
    cancel = client.post(f"/api/v1/tasks/{pending}/cancel")
    assert cancel.status_code == 200 and set(cancel.json()) == {"request_id"}
    assert DASHSCOPE.poll(client, pending).json()["output"]["task_status"] == "CANCELED"
    running = DASHSCOPE.submit(client)
    clock.advance(LATENCY / 2)
    refused = client.post(f"/api/v1/tasks/{running}/cancel")
    assert refused.status_code == 400 and error_code(DASHSCOPE, refused) == "UnsupportedOperation"


def test_inputs_as_data_urls_and_oss_keys(client: httpx.Client) -> None:
    square = media.still(b"square", "1:1")
    data_url = "data:image/png;base64," + base64.b64encode(square).decode()
    body = {"model": "wan2.6-i2v", "input": {"prompt": "x", "img_url": data_url}}
    assert create(client, body).status_code == 200
    broken = {**body, "input": {"img_url": "data:image/png;base64,@@@"}}
    assert create(client, broken).status_code == 400
    local = {**body, "input": {"img_url": "/home/me/a.png"}}
    assert error_code(DASHSCOPE, create(client, local)) == "InvalidParameter"
    policy = client.get("/api/v1/uploads", params={"action": "getPolicy", "model": "wan2.6-i2v"})
    data = policy.json()["data"]
    key = f"{data['upload_dir']}/a.png"
    form = {
        "OSSAccessKeyId": data["oss_access_key_id"],
        "Signature": data["signature"],
        "policy": data["policy"],
        "key": key,
        "x-oss-object-acl": data["x_oss_object_acl"],
        "x-oss-forbid-overwrite": data["x_oss_forbid_overwrite"],
        "success_action_status": "200",
    }
    posted = client.post(data["upload_host"], data=form, files={"file": ("a.png", square)})
    assert posted.status_code == 200
    again = client.post(data["upload_host"], data=form, files={"file": ("a.png", square)})
    assert again.status_code == 409  # x-oss-forbid-overwrite
    forged = client.post(
        data["upload_host"], data={**form, "Signature": "forged"}, files={"file": ("b", b"")}
    )
    assert forged.status_code == 403 and b"SignatureDoesNotMatch" in forged.content
    oss = {**body, "input": {"prompt": "x", "img_url": f"oss://{key}"}}
    assert create(client, oss).status_code == 400  # without the resolve header
    resolved = create(client, oss, **{"X-DashScope-OssResourceResolve": "enable"})
    assert resolved.status_code == 200
    missing = {**body, "input": {"img_url": f"oss://{data['upload_dir']}/other.png"}}
    refused = create(client, missing, **{"X-DashScope-OssResourceResolve": "enable"})
    assert refused.status_code == 400


def test_policy_needs_action_and_model(client: httpx.Client) -> None:
    answer = client.get("/api/v1/uploads", params={"action": "getPolicy"})
    assert answer.status_code == 400 and error_code(DASHSCOPE, answer) == "InvalidParameter"


MESSAGES = "/api/v1/services/aigc/image-generation/generation"


def message(*images: str) -> dict:
    content = [{"text": "a flower shop"}] + [{"image": url} for url in images]
    return {"messages": [{"role": "user", "content": content}]}


def test_messages_protocol_refuses_what_its_docs_do_not_list(client: httpx.Client) -> None:
    # wan2.6-t2i / wan2.6-image: one user message, documented parameters only (PROVIDERS.md §4b).
    def refused(body: dict) -> str:
        answer = client.post(MESSAGES, json=body, headers=ASYNC)
        assert answer.status_code == 400 and set(answer.json()) == {"request_id", "code", "message"}
        return str(answer.json()["message"])

    t2i = {"model": "wan2.6-t2i", "input": message(), "parameters": {"n": 1}}
    assert "parameters.resolution" in refused({**t2i, "parameters": {"resolution": "1080P"}})
    assert "input.prompt" in refused({**t2i, "input": {**message(), "prompt": "x"}})
    assert "0 to 0 images" in refused({**t2i, "input": message("https://e.com/a.png")})
    edit = {"model": "wan2.6-image", "input": message(), "parameters": {}}
    assert "1 to 4 images" in refused(edit)
    assert "parameters.n" in refused({**t2i, "parameters": {"n": 5}})
    assert refused({**t2i, "model": "wan2.5-t2i-preview"}) == "Model not exist."
    on_video_path = create(client, t2i)
    assert on_video_path.status_code == 400


def test_messages_task_answers_choices(client: httpx.Client, clock: FakeClock) -> None:
    body = {"model": "wan2.6-t2i", "input": message(), "parameters": {"size": "1280*1280"}}
    answer = client.post(MESSAGES, json=body, headers=ASYNC)
    assert answer.status_code == 200
    task_id = answer.json()["output"]["task_id"]
    clock.advance(LATENCY * 2)
    output = DASHSCOPE.poll(client, task_id).json()["output"]
    assert output["task_status"] == "SUCCEEDED" and "results" not in output
    (choice,) = output["choices"]
    (part,) = choice["message"]["content"]
    assert client.get(part["image"]).status_code == 200


S2V = "/api/v1/services/aigc/image2video/video-synthesis"


def test_speech_to_video_refuses_what_its_docs_do_not_list(client: httpx.Client) -> None:
    # wan2.2-s2v: input.image_url and input.audio_url, parameters.resolution 480P|720P, and
    # nothing else [doc: alibabacloud.com/help/en/model-studio/wan-s2v-api].
    def refused(body: dict, path: str = S2V) -> str:
        answer = client.post(path, json=body, headers=ASYNC)
        assert answer.status_code == 400 and set(answer.json()) == {"request_id", "code", "message"}
        assert answer.json()["code"] == "InvalidParameter"
        return str(answer.json()["message"])

    urls = {"image_url": "https://e.com/p.png", "audio_url": "https://e.com/v.mp3"}
    s2v = {"model": "wan2.2-s2v", "input": urls, "parameters": {"resolution": "720P"}}
    assert "input.prompt" in refused({**s2v, "input": {**urls, "prompt": "speak"}})
    assert "parameters.duration" in refused({**s2v, "parameters": {"duration": 5}})
    assert "parameters.seed" in refused({**s2v, "parameters": {"seed": 1}})
    assert refused({**s2v, "input": {"image_url": urls["image_url"]}}) == (
        "Field required: input.audio_url"
    )
    assert "480P, 720P" in refused({**s2v, "parameters": {"resolution": "1080P"}})
    assert refused(s2v, CREATE) == "Model not exist."  # not on the video path
    assert refused({**s2v, "model": "wan2.2-s2v-detect"}) == "Model not exist."
    # The official SDK's extra input keys are tolerated; a prompt of null too.
    sdk = {**urls, "prompt": None, "extend_prompt": True, "function": "video-synthesis"}
    assert client.post(S2V, json={**s2v, "input": sdk}, headers=ASYNC).status_code == 200


def test_speech_to_video_lasts_as_long_as_its_audio(
    client: httpx.Client, clock: FakeClock, emulator: Emulator
) -> None:
    sound = io.BytesIO()
    with wave.open(sound, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(bytes(2 * 16000 * 3 + 2000))  # 3.06 s
    audio = "data:audio/wav;base64," + base64.b64encode(sound.getvalue()).decode()
    image = "data:image/png;base64," + base64.b64encode(media.still(b"face", "9:16")).decode()
    body = {"model": "wan2.2-s2v", "input": {"image_url": image, "audio_url": audio}}
    answer = client.post(S2V, json=body, headers=ASYNC)
    assert answer.status_code == 200, answer.text
    task_id = answer.json()["output"]["task_id"]
    clock.advance(LATENCY * 2)
    done = DASHSCOPE.poll(client, task_id).json()
    assert done["output"]["task_status"] == "SUCCEEDED"
    assert done["usage"]["video_duration"] == 4  # 3.06 s of audio, in whole seconds
    assert emulator.task(task_id).media.aspect_ratio == "9:16"  # shaped like its image


def test_video_protocols_refuse_what_their_docs_do_not_list(client: httpx.Client) -> None:
    """Each video protocol takes its own fields (PROVIDERS.md §2, §4b): 2.7 has no `size`,
    2.1–2.6 text-to-video no `resolution`, image-to-video no `media`."""

    def answer(model: str, payload: dict, parameters: dict) -> tuple[int, str]:
        body = {"model": model, "input": {"prompt": "a heron", **payload}}
        response = create(client, {**body, "parameters": parameters})
        return response.status_code, str(response.json().get("message", ""))

    assert answer("wan2.7-t2v", {}, {"size": "1280*720"}) == (
        400,
        "parameters.size is not a parameter of wan2.7-t2v",
    )
    assert answer("wan2.5-t2v-preview", {}, {"resolution": "720P"})[0] == 400
    assert answer("wan2.5-i2v-preview", {"media": []}, {"resolution": "720P"})[0] == 400
    assert answer("wan2.5-t2v-preview", {}, {"size": "1280*720", "seed": 1})[0] == 200
    assert answer("wan2.7-t2v", {}, {"resolution": "720P", "ratio": "16:9"})[0] == 200
