"""SMS backends: console and in-memory for development and tests, Twilio's REST API for real."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.core.exceptions import ImproperlyConfigured

from diary.services.sms import LocmemBackend, SmsError, sms_send


@pytest.fixture(autouse=True)
def _empty_outbox():
    LocmemBackend.outbox.clear()
    yield
    LocmemBackend.outbox.clear()


@pytest.fixture
def provider():
    """A local stand-in for Twilio's API: records each request, answers what the test sets."""
    state = {"requests": [], "status": 201, "answer": {"sid": "SM123"}}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            state["requests"].append(
                {"path": self.path, "auth": self.headers["Authorization"], "form": parse_qs(body)}
            )
            payload = json.dumps(state["answer"]).encode()
            self.send_response(state["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def twilio(settings, provider):
    settings.SMS_BACKEND = "diary.services.sms.TwilioBackend"
    settings.SMS_TWILIO_API_URL = provider["url"]
    settings.SMS_TWILIO_ACCOUNT_SID = "AC-test-account"
    settings.SMS_TWILIO_AUTH_TOKEN = "token-from-the-environment"
    settings.SMS_FROM = "+4570000000"
    return provider


def test_in_memory_backend_keeps_the_message_for_the_test():
    assert sms_send(to="+4520123456", body="A questionnaire is waiting.") == "locmem-1"
    (message,) = LocmemBackend.outbox
    assert (message.to, message.body) == ("+4520123456", "A questionnaire is waiting.")


def test_console_backend_prints_the_message_with_the_number_masked(settings, capsys):
    settings.SMS_BACKEND = "diary.services.sms.ConsoleBackend"
    sms_send(to="+4520123456", body="Your questionnaire closes soon.")
    printed = capsys.readouterr().out
    assert "Your questionnaire closes soon." in printed
    assert "+45******56" in printed and "+4520123456" not in printed


def test_twilio_backend_posts_to_the_messages_api_with_basic_auth(twilio):
    assert sms_send(to="+4520123456", body="Study diary: hello") == "SM123"
    (request,) = twilio["requests"]
    assert request["path"] == "/2010-04-01/Accounts/AC-test-account/Messages.json"
    expected = base64.b64encode(b"AC-test-account:token-from-the-environment").decode()
    assert request["auth"] == f"Basic {expected}"
    assert request["form"] == {
        "To": ["+4520123456"],
        "From": ["+4570000000"],
        "Body": ["Study diary: hello"],
    }


def test_a_refusal_by_the_provider_is_an_error_that_does_not_quote_the_number(twilio):
    twilio["status"] = 400
    twilio["answer"] = {"code": 21211, "message": "The 'To' number +4520123456 is not valid."}
    with pytest.raises(SmsError) as caught:
        sms_send(to="+4520123456", body="hello")
    assert "HTTP 400 21211" in str(caught.value)
    assert "+4520123456" not in str(caught.value)


def test_an_unreachable_provider_is_an_error(settings, twilio):
    settings.SMS_TWILIO_API_URL = "http://127.0.0.1:9"  # the discard port: nothing listens
    with pytest.raises(SmsError, match="unreachable"):
        sms_send(to="+4520123456", body="hello")


def test_twilio_backend_without_its_settings_says_which_are_missing(settings):
    settings.SMS_BACKEND = "diary.services.sms.TwilioBackend"
    settings.SMS_TWILIO_ACCOUNT_SID = ""
    with pytest.raises(ImproperlyConfigured, match="SMS_TWILIO_ACCOUNT_SID"):
        sms_send(to="+4520123456", body="hello")


def test_without_a_provider_sms_is_refused_so_that_email_stands_in(settings):
    settings.SMS_BACKEND = "diary.services.sms.DisabledBackend"
    with pytest.raises(SmsError, match="not configured"):
        sms_send(to="+4520123456", body="hello")
    assert LocmemBackend.outbox == []
