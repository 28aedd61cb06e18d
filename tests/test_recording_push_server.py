"""The recording push target applies the duplicate guard as WeCom (identical request) and DingTalk (msgUuid) do."""
from __future__ import annotations

import json

import requests

from bot.messages import Reply
from tests.fakes.recording_push_server import RecordingPusher, RecordingPushServer


def test_wecom_guard_drops_an_identical_request_only():
    with RecordingPushServer() as server:
        pusher = RecordingPusher(server.url)
        for text, key in (("请交党费", "k1"), ("请交党费", "k1"), ("请开会", "k2"), ("请交党费", "k1")):
            assert pusher.push("u1", Reply(text=text), key).ok
        assert pusher.push("u2", Reply(text="请交党费"), "k3").ok  # another member: another request
        assert server.deliveries() == [("u1", "请交党费"), ("u1", "请开会"), ("u2", "请交党费")]
        assert server.state.guard_drops == 2 and server.state.requests == 5

        # without enable_duplicate_check nothing is dropped
        body = {"touser": "u3", "msgtype": "text", "agentid": 1, "text": {"content": "x"}}
        for _ in range(2):
            requests.post(f"{server.url}message/send?access_token=t", data=json.dumps(body))
        assert server.deliveries()[-2:] == [("u3", "x"), ("u3", "x")]


def test_dingtalk_guard_is_keyed_by_msg_uuid_and_busy_answers_retry():
    with RecordingPushServer() as server:
        pusher = RecordingPusher(server.url, platform="dingtalk", style="dingtalk")
        assert pusher.push("u1", Reply(text="a"), "key-1").ok
        assert pusher.push("u1", Reply(text="a changed"), "key-1").ok  # same uuid: dropped even if the text differs
        assert pusher.push("u1", Reply(text="a"), "key-2").ok
        assert server.deliveries() == [("u1", "a"), ("u1", "a")] and server.state.guard_drops == 1
    with RecordingPushServer(busy_rate=1.0) as server:
        result = RecordingPusher(server.url).push("u1", Reply(text="a"), "k")
        assert (result.ok, result.retry) == (False, True) and "system busy" in result.error
        assert server.deliveries() == []
