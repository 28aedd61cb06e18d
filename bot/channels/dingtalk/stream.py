"""DingTalk Stream mode: an outbound WebSocket, so no public URL is needed (what most intranets need).

Built on the dingtalk-stream SDK 0.24.3 (frames, acks, the chatbot handler), with what that release lacks:
- acknowledge at once and route on the app's handler pool (Runtime.submit, as the HTTP channels do), so DingTalk
  never re-pushes for slowness and a slow handler delays only its own member;
- de-duplication by the message's msgId through the Router (processed_messages), which holds across processes;
- a bounded exponential reconnect back-off with jitter, reset once a connection delivers a frame;
- a keepalive whose ping must be answered in time, a watchdog that reconnects when no frame (not even a
  server ping) arrives for half an hour, timeouts on every HTTP call, and a clean stop that waits for the messages
  already acknowledged.
Replies go out on the runtime's background executor, to the message's sessionWebhook; when that has expired, through
the robot OpenAPI (reply.Replier).
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future
from urllib.parse import quote_plus

import dingtalk_stream
import requests
import websockets
from dingtalk_stream import AckMessage, CallbackMessage, ChatbotHandler, ChatbotMessage
from dingtalk_stream.frames import Headers
from dingtalk_stream.version import VERSION_STRING

from bot.channels.dingtalk.parse import BadMessage, QuotaNotice, RobotMessage, parse_body
from bot.channels.dingtalk.reply import QuotaLog, Replier
from bot.messages import Incoming, Reply
from bot.settings import DingtalkSettings

log = logging.getLogger(__name__)


class Backoff:
    """base·2ⁿ seconds plus up to `base` of jitter, never more than `cap`; reset() after a good connection."""

    def __init__(self, base: float = 1.0, cap: float = 60.0, jitter: Callable[[], float] = random.random) -> None:
        self.base, self.cap, self.jitter = base, cap, jitter
        self.attempt = 0

    def next(self) -> float:
        delay = min(self.cap, self.base * (2 ** min(self.attempt, 30)) + self.jitter() * self.base)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


class InFlight:
    """Messages acknowledged and not yet answered, so that stopping can wait for them."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def add(self) -> None:
        with self._idle:
            self._count += 1

    def done(self) -> None:
        with self._idle:
            self._count -= 1
            if self._count == 0:
                self._idle.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


class RouterHandler(ChatbotHandler):
    """Acks each robot message at once, as the SDK's AsyncChatbotHandler does, and hands it to the app's handler pool
    (`submit`, Runtime.submit); the reply goes out on the `background` executor once the router has it."""

    def __init__(self, submit: Callable[[Incoming], Future[Reply]], background: Executor, replier: Replier) -> None:
        super().__init__()
        self.submit = submit
        self.background = background
        self.replier = replier
        self.quota = QuotaLog()
        self.in_flight = InFlight()

    async def raw_process(self, callback: CallbackMessage) -> AckMessage:  # on the event loop: nothing here waits
        try:
            self.accept(callback)
        except Exception:
            log.exception("DingTalk Stream message could not be handed to the router")
        ack = AckMessage()
        ack.code = AckMessage.STATUS_OK
        ack.headers.message_id = callback.headers.message_id
        ack.headers.content_type = Headers.CONTENT_TYPE_APPLICATION_JSON
        ack.message = "ok"
        ack.data = callback.data
        return ack

    def accept(self, callback: CallbackMessage) -> None:
        try:
            parsed = parse_body(callback.data)
        except BadMessage as err:
            log.warning("DingTalk Stream message ignored: %s", err)
            return
        if isinstance(parsed, QuotaNotice):
            self.quota.note(parsed)
            return
        self.in_flight.add()
        try:
            future = self.submit(parsed.incoming)
        except BaseException:
            self.in_flight.done()
            raise
        future.add_done_callback(lambda f: self._hand_over(parsed, f))

    def _hand_over(self, message: RobotMessage, routed: Future[Reply]) -> None:
        """In the handler's thread once the router is done: the sending waits on DingTalk, so not here."""
        try:
            self.background.submit(self._answer, message, routed.result())
        except Exception:  # cancelled, or the runtime is closing
            self.in_flight.done()
            log.warning("a DingTalk Stream reply was dropped: the service is stopping")

    def _answer(self, message: RobotMessage, reply: Reply) -> None:
        try:
            self.replier.answer(message, reply)
        except Exception:
            log.exception("DingTalk Stream reply failed")
        finally:
            self.in_flight.done()


class _QuietPings(logging.Filter):
    """0.24.3 logs every server ping as a warning; that is noise, not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "topic=ping" not in record.getMessage()


class StreamClient(dingtalk_stream.DingTalkStreamClient):
    def __init__(self, settings: DingtalkSettings, handler: RouterHandler, *, http: requests.Session | None = None,
                 backoff: Backoff | None = None, idle_timeout: float = 1800.0, http_timeout: float = 10.0,
                 sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        sdk_log = logging.getLogger("bot.channels.dingtalk.stream.sdk")
        sdk_log.addFilter(_QuietPings())
        super().__init__(dingtalk_stream.Credential(settings.app_key, settings.app_secret), logger=sdk_log)
        handler.logger = sdk_log
        self.register_callback_handler(ChatbotMessage.TOPIC, handler)
        self.handler = handler
        self.api_base = settings.api_base
        self.http = http or requests.Session()
        self.backoff = backoff or Backoff()
        self.idle_timeout = idle_timeout
        self.http_timeout = http_timeout
        self.sleep = sleep  # tests record the delays instead of waiting them out
        self.connections = 0  # WebSocket sessions opened so far
        self.delays: deque[float] = deque(maxlen=100)  # the latest back-off delays taken, for tests and debugging
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    # the SDK's own versions have no timeout and read the API base at import time --------------------------------
    def open_connection(self) -> dict | None:
        body = {"clientId": self.credential.client_id, "clientSecret": self.credential.client_secret,
                "subscriptions": [{"type": "CALLBACK", "topic": t} for t in self.callback_handler_map],
                "ua": f"zhibu/dingtalk-stream-{VERSION_STRING}", "localIp": self.get_host_ip()}
        try:
            resp = self.http.post(f"{self.api_base}/v1.0/gateway/connections/open", json=body,
                                  timeout=self.http_timeout)
        except requests.RequestException as err:
            log.warning("DingTalk Stream: cannot open a connection (%s)", type(err).__name__)
            return None
        if resp.status_code != 200:
            log.warning("DingTalk Stream: opening a connection refused with HTTP %s", resp.status_code)
            return None
        try:
            payload = resp.json()
        except ValueError:
            return None
        return payload if payload.get("endpoint") and payload.get("ticket") else None

    async def keepalive(self, ws, ping_interval: float = 60) -> None:
        """The SDK's version awaits ws.ping() with no limit, and a hung ping leaves a socket that looks alive but
        delivers nothing; here a ping that gets no pong in time aborts the socket, and run() reconnects."""
        while True:
            await asyncio.sleep(ping_interval)
            try:
                pong = await asyncio.wait_for(ws.ping(), timeout=self.http_timeout)
                await asyncio.wait_for(pong, timeout=self.http_timeout)
            except websockets.exceptions.ConnectionClosed:
                return
            except TimeoutError:
                log.warning("DingTalk Stream: no pong in %.0f s, dropping the connection", self.http_timeout)
                transport = getattr(ws, "transport", None)
                if transport is not None:
                    transport.abort()
                return

    def get_host_ip(self) -> str:
        try:
            return socket.gethostbyname(socket.gethostname())
        except OSError:
            return ""

    # our loop -------------------------------------------------------------------------------------------------------
    async def run(self) -> None:
        self.pre_start()
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        tasks: set[asyncio.Task] = set()
        try:
            while not self._stopping.is_set():
                await self._one_connection(tasks)
                if self._stopping.is_set():
                    break
                delay = self.backoff.next()
                self.delays.append(delay)
                log.warning("DingTalk Stream: reconnecting in %.1f s", delay)
                await self._pause(delay)
        finally:
            for task in list(tasks):
                task.cancel()
            self.handler.in_flight.wait()  # every message acknowledged so far gets its reply

    async def _one_connection(self, tasks: set[asyncio.Task]) -> None:
        connection = await asyncio.get_running_loop().run_in_executor(None, self.open_connection)
        if not connection:
            return
        uri = f'{connection["endpoint"]}?ticket={quote_plus(connection["ticket"])}'
        try:
            async with websockets.connect(uri, open_timeout=self.http_timeout) as ws:
                self.websocket = ws
                self.connections += 1
                log.info("DingTalk Stream: connected")
                keepalive = asyncio.create_task(self.keepalive(ws))
                try:
                    while not self._stopping.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), timeout=self.idle_timeout)
                        except TimeoutError:
                            log.warning("DingTalk Stream: no frame for %.0f s, reconnecting", self.idle_timeout)
                            return
                        self.backoff.reset()  # this connection works: the next outage starts from the base delay
                        try:
                            frame = json.loads(raw)
                        except ValueError:
                            log.warning("DingTalk Stream: a frame that is not JSON was ignored")
                            continue
                        task = asyncio.create_task(self.background_task(frame))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                finally:
                    keepalive.cancel()
        except websockets.exceptions.ConnectionClosed as err:
            log.warning("DingTalk Stream: connection closed (%s)", err.rcvd.code if err.rcvd else "no close frame")
        except (OSError, websockets.exceptions.WebSocketException, TimeoutError) as err:
            log.warning("DingTalk Stream: connection failed (%s)", type(err).__name__)
        except Exception:
            log.exception("DingTalk Stream: unexpected error; reconnecting")  # never let one bad frame end the service

    async def _pause(self, delay: float) -> None:
        if self.sleep is not None:
            await self.sleep(delay)
            return
        assert self._wake is not None
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=delay)
        except TimeoutError:
            pass

    def run_forever(self) -> None:
        asyncio.run(self.run())

    def stop(self) -> None:
        """Thread-safe: ends run() after the current frame, once the messages already acknowledged are answered."""
        self._stopping.set()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake_up)

    def _wake_up(self) -> None:
        if self._wake is not None:
            self._wake.set()
        if self.websocket is not None:
            asyncio.ensure_future(self.websocket.close())


def build_stream_client(runtime, http: requests.Session | None = None, **kwargs) -> StreamClient:
    settings = runtime.settings.dingtalk
    if settings is None:
        raise ValueError("DingTalk is not configured")
    http = http or requests.Session()
    replier = Replier(runtime.services.pushers, runtime.services.clock, http, files=runtime.services.files)
    handler = RouterHandler(runtime.submit, runtime.background, replier)
    return StreamClient(settings, handler, http=http, **kwargs)
